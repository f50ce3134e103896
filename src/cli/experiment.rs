//! `ndstyle run`, `check` and `status`: YAML experiments, their sweeps, shards and run directories.

use std::path::PathBuf;

use clap::Args;

use super::progress::Bar;
use ndstyle::config::{self, Experiment, Run};
use ndstyle::experiment::{self, Observer, Options, RunOutcome, Shard};
use ndstyle::pipeline;
use ndstyle::runner::Progress;

/// The config and its overrides, shared by `run` and `check`.
#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// The experiment file (YAML, `version: 1`; see docs/config.md).
    pub config: PathBuf,
    /// Override a key before validation: `--set losses.beta=1e4` (VALUE is YAML; repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// The experiment directory (replaces outputs.directory).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

impl ConfigArgs {
    fn load(&self) -> anyhow::Result<Experiment> {
        let exp = config::load(&self.config, &self.set, self.output.as_deref())?;
        if let Some(b) = exp.max_memory {
            if !super::MAX_MEMORY_GIVEN.load(std::sync::atomic::Ordering::Relaxed) {
                b.install();
            }
        }
        Ok(exp)
    }
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub cfg: ConfigArgs,
    /// Process only shard I of N: the runs at positions k with k mod N = I (e.g. 0/3).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Stop after this many runs (the rest are left for the next invocation).
    #[arg(long)]
    pub max_runs: Option<usize>,
    /// No progress bars.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// An experiment directory.
    pub dir: PathBuf,
}

/// `ndstyle check`: validate and list the expanded runs.
pub fn check(a: &ConfigArgs) -> anyhow::Result<()> {
    let exp = a.load()?;
    println!("{}: valid; {} runs into {}", a.config.display(), exp.runs.len(), exp.out_dir.display());
    for (k, r) in exp.runs.iter().enumerate() {
        let job = experiment::job(r, exp.out_dir.join(&r.name).join(r.result_name()));
        let pairing = match pipeline::pairing(&job)? {
            pipeline::Pairing::Same => "styles of the same rank".to_string(),
            pipeline::Pairing::Slices { style_rank, axes } => {
                format!("rank-{style_rank} styles on slices across axes {axes:?}")
            }
        };
        println!(
            "{k:>4}  {}  (rank {}, {pairing}, {} iterations × {} levels)",
            r.name, r.rank, r.settings.iters, r.settings.levels
        );
    }
    Ok(())
}

/// `ndstyle run`.
pub fn run(a: &RunArgs) -> anyhow::Result<()> {
    let shard = match &a.shard {
        Some(s) => Shard::parse(s).map_err(ndstyle::Error::from)?,
        None => Shard::default(),
    };
    let exp = a.cfg.load()?;
    let mut obs = Bars { quiet: a.quiet, bar: None };
    let report = experiment::run(&exp, &Options { shard, max_runs: a.max_runs }, &mut obs)?;
    if !a.quiet {
        eprintln!(
            "{}: ran {}, already finished {}, running elsewhere {}, failed {}, left {}; index: {}",
            exp.name,
            report.ran.len(),
            report.finished_before.len(),
            report.busy.len(),
            report.failed.len(),
            report.not_reached.len(),
            exp.out_dir.join("index.md").display()
        );
    }
    if !report.failed.is_empty() {
        let names: Vec<&str> = report.failed.iter().map(|(n, _)| n.as_str()).collect();
        anyhow::bail!(
            "{} run(s) failed: {} (see error.txt in their directories)",
            names.len(),
            names.join(", ")
        );
    }
    Ok(())
}

/// `ndstyle status`.
pub fn status(a: &StatusArgs) -> anyhow::Result<()> {
    let runs = experiment::scan(&a.dir)?;
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for (name, s) in &runs {
        *counts.entry(s.word()).or_default() += 1;
        let detail = match s {
            experiment::RunState::Done(m) => format!("loss {:.4e}, {:.1} s", m.final_loss.total, m.seconds),
            experiment::RunState::Running { owner, .. } => format!("lock held by {owner}"),
            experiment::RunState::Failed(e) => e.lines().next().unwrap_or("").to_string(),
            experiment::RunState::Pending { .. } => String::new(),
        };
        println!("{:<12} {name}  {detail}", s.word());
    }
    let summary: Vec<String> = counts.iter().map(|(w, n)| format!("{n} {w}")).collect();
    println!("{} runs: {}", runs.len(), if summary.is_empty() { "none".into() } else { summary.join(", ") });
    Ok(())
}

/// One progress bar per run.
struct Bars {
    quiet: bool,
    bar: Option<Bar>,
}

impl Observer for Bars {
    fn start(&mut self, run: &Run, position: usize, of: usize) {
        let bar = Bar::new(self.quiet, run.settings.iters, run.settings.levels);
        bar.prefix(format!("[{}/{of}] {} ", position + 1, run.name));
        self.bar = Some(bar);
    }
    fn iter(&mut self, p: &Progress) -> ndstyle::Result<()> {
        if let Some(b) = &self.bar {
            b.update(p);
        }
        Ok(())
    }
    fn note(&mut self, note: &str) {
        if !self.quiet {
            eprintln!("note: {note}");
        }
    }
    fn finish(&mut self, run: &Run, outcome: &RunOutcome) {
        if let Some(b) = self.bar.take() {
            b.finish();
        }
        if !self.quiet {
            match outcome {
                RunOutcome::Done { seconds, resumed } => {
                    eprintln!(
                        "{}: done in {seconds:.1} s{}",
                        run.name,
                        if *resumed { " (resumed)" } else { "" }
                    )
                }
                RunOutcome::Finished => eprintln!("{}: already finished", run.name),
                RunOutcome::Busy => eprintln!("{}: locked by another process; skipped", run.name),
                RunOutcome::Failed(e) => eprintln!("{}: failed: {e}", run.name),
            }
        }
    }
}
