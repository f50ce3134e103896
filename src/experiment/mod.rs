//! Running an experiment: one directory per run, never redoing a finished one, resuming an
//! interrupted one, and sharing the work between machines.
//!
//! A run directory `OUT/NAME/` holds:
//!
//! | file | written | meaning |
//! |---|---|---|
//! | `config.yaml` | at start | the run's resolved configuration |
//! | `lock` | at start, removed at the end | `host pid` of the process running it |
//! | `result.ckpt` | during the run, removed at the end | the runner's checkpoint |
//! | `result.{png,npy}`, `result.losses.csv`, `result.losses.png` | at the end | [`write_outputs`] |
//! | `metrics.json` | last | final losses, seconds, peak memory, versions: **the run is finished** |
//! | `error.txt` | on failure | the error; the next `run` retries |
//!
//! Every whole file is written atomically. A run with `metrics.json` is skipped, so a finished
//! result is never overwritten. The lock is created with `O_EXCL`, so two shards never run the
//! same run; a lock left by a dead process on the same host is taken over, one from another host
//! is reported as running until removed by hand.

mod contact;
mod index;

pub use contact::{contact_sheet, line_plot};
pub use index::{scan, state_of, write_index, RunState};

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Experiment, Loc, Run};
use crate::error::{Error, Result};
use crate::io::atomic_write;
use crate::pipeline::{self, Job};
use crate::runner::{check_outputs, sibling, Progress, Target};

pub const METRICS: &str = "metrics.json";
pub const LOCK: &str = "lock";
pub const ERROR: &str = "error.txt";
pub const CONFIG: &str = "config.yaml";

/// This process's share of the runs: run k (in the sorted list) belongs to shard k mod `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

impl Shard {
    /// Parse `i/n` (0 ≤ i < n); errors are located in the `--shard` argument.
    pub fn parse(s: &str) -> std::result::Result<Shard, ConfigError> {
        let loc =
            |column: usize| Loc { source: format!("--shard {s}").into(), line: 1, column: column as u32 };
        let Some((i, n)) = s.split_once('/') else {
            return Err(ConfigError::new(
                &loc(1),
                "shard",
                format!("'{s}' is not INDEX/COUNT (such as 0/3)"),
            ));
        };
        let num = |t: &str, col: usize, what: &str| {
            t.trim().parse::<usize>().map_err(|_| {
                ConfigError::new(&loc(col), "shard", format!("{what} '{t}' is not a non-negative integer"))
            })
        };
        let index = num(i, 1, "index")?;
        let count = num(n, i.len() + 2, "count")?;
        if count == 0 {
            return Err(ConfigError::new(&loc(i.len() + 2), "shard", "the count must be at least 1"));
        }
        if index >= count {
            return Err(ConfigError::new(
                &loc(1),
                "shard",
                format!("index {index} must be below the count {count}"),
            ));
        }
        Ok(Shard { index, count })
    }

    /// The runs of `exp` this shard processes.
    pub fn runs<'a>(&self, exp: &'a Experiment) -> Vec<&'a Run> {
        exp.runs.iter().enumerate().filter(|(k, _)| k % self.count == self.index).map(|(_, r)| r).collect()
    }
}

/// What one run did.
#[derive(Clone, Debug, PartialEq)]
pub enum RunOutcome {
    /// Ran to the end now (`resumed`: from a checkpoint).
    Done { seconds: f64, resumed: bool },
    /// Already finished before (metrics.json present).
    Finished,
    /// Locked by another process.
    Busy,
    /// Failed; the message is also in the run's error.txt.
    Failed(String),
}

/// Follows an experiment as it runs (progress bars, logs). Every method has a silent default.
pub trait Observer {
    fn start(&mut self, _run: &Run, _position: usize, _of: usize) {}
    /// After each iteration; an error stops the run (it fails and keeps its checkpoint).
    fn iter(&mut self, _p: &Progress) -> Result<()> {
        Ok(())
    }
    /// What the readers inferred about the inputs (layouts, channel adaptations).
    fn note(&mut self, _note: &str) {}
    fn finish(&mut self, _run: &Run, _outcome: &RunOutcome) {}
}

/// An observer that does nothing.
pub struct Silent;
impl Observer for Silent {}

/// How to run an experiment.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub shard: Shard,
    /// Stop after running this many runs (the rest are left for the next invocation).
    pub max_runs: Option<usize>,
}

/// What an invocation did, by run name.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub ran: Vec<String>,
    pub finished_before: Vec<String>,
    pub busy: Vec<String>,
    pub failed: Vec<(String, String)>,
    /// Left for later by [`Options::max_runs`].
    pub not_reached: Vec<String>,
}

/// Final losses and resources of a finished run (`metrics.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Metrics {
    pub name: String,
    pub result: String,
    pub final_loss: FinalLoss,
    /// Logged iterations, over all levels.
    pub iterations: usize,
    /// Wall time of the invocation that finished the run.
    pub seconds: f64,
    pub resumed: bool,
    /// Why each level run by the invocation that finished the run stopped, e.g.
    /// `level 1/1: 100 iterations, stopped: the iteration limit was reached`.
    #[serde(default)]
    pub stops: Vec<String>,
    /// The process's peak resident memory (VmHWM), where /proc reports it.
    pub peak_memory_kib: Option<u64>,
    pub threads: usize,
    pub host: String,
    pub versions: Versions,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FinalLoss {
    pub total: f64,
    pub content: f64,
    pub style: f64,
    pub tv: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Versions {
    pub ndstyle: String,
    pub config_schema: i64,
}

/// Run this shard's runs of `exp` in order, then rewrite the experiment's index.
pub fn run(exp: &Experiment, opts: &Options, obs: &mut dyn Observer) -> Result<Report> {
    fs::create_dir_all(&exp.out_dir).map_err(|e| Error::io(&exp.out_dir, e))?;
    let mine = opts.shard.runs(exp);
    for r in &mine {
        guard_run(exp, r)?;
    }
    let mut report = Report::default();
    for (k, r) in mine.iter().enumerate() {
        if opts.max_runs.is_some_and(|m| report.ran.len() + report.failed.len() >= m) {
            report.not_reached.push(r.name.clone());
            continue;
        }
        obs.start(r, k, mine.len());
        let outcome = run_one(exp, r, obs)?;
        obs.finish(r, &outcome);
        match outcome {
            RunOutcome::Done { .. } => report.ran.push(r.name.clone()),
            RunOutcome::Finished => report.finished_before.push(r.name.clone()),
            RunOutcome::Busy => report.busy.push(r.name.clone()),
            RunOutcome::Failed(m) => report.failed.push((r.name.clone(), m)),
        }
    }
    write_index(exp)?;
    Ok(report)
}

/// Run one run in its directory unless it is finished or locked. Only errors of the
/// bookkeeping itself (creating the directory, the lock, the error file) are returned;
/// errors of the run are recorded in its error.txt and returned as [`RunOutcome::Failed`].
pub fn run_one(exp: &Experiment, r: &Run, obs: &mut dyn Observer) -> Result<RunOutcome> {
    let dir = exp.out_dir.join(&r.name);
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    if dir.join(METRICS).exists() {
        return Ok(RunOutcome::Finished);
    }
    let Some(_lock) = Lock::acquire(&dir)? else { return Ok(RunOutcome::Busy) };
    // Another process may have finished it between our check and taking the lock.
    if dir.join(METRICS).exists() {
        return Ok(RunOutcome::Finished);
    }
    let err_file = dir.join(ERROR);
    if err_file.exists() {
        fs::remove_file(&err_file).map_err(|e| Error::io(&err_file, e))?;
    }
    atomic_write(dir.join(CONFIG), |w| w.write_all(r.resolved.as_bytes()))?;
    let started = Instant::now();
    let result = execute(r, &dir, obs);
    match result {
        Ok(mut m) => {
            m.seconds = started.elapsed().as_secs_f64();
            let json = serde_json::to_string_pretty(&m)
                .map_err(|e| Error::format(dir.join(METRICS), e.to_string()))?;
            atomic_write(dir.join(METRICS), |w| w.write_all(json.as_bytes()))?;
            let ckpt = sibling(&dir.join(r.result_name()), "ckpt");
            if ckpt.exists() {
                fs::remove_file(&ckpt).map_err(|e| Error::io(&ckpt, e))?;
            }
            Ok(RunOutcome::Done { seconds: m.seconds, resumed: m.resumed })
        }
        Err(e) => {
            let msg = e.to_string();
            atomic_write(&err_file, |w| writeln!(w, "{msg}"))?;
            Ok(RunOutcome::Failed(msg))
        }
    }
}

/// Refuse, before any run starts, a run whose outputs are its inputs or would replace files in a
/// run directory the tool has not written (one without its `config.yaml`).
fn guard_run(exp: &Experiment, r: &Run) -> Result<()> {
    let dir = exp.out_dir.join(&r.name);
    let ours = !dir.exists() || dir.join(CONFIG).exists();
    let out = dir.join(r.result_name());
    let mut inputs: Vec<&Path> = vec![r.content.as_path()];
    inputs.extend(r.styles.iter().map(|(p, _)| p.as_path()));
    inputs.extend(r.init_file.as_deref());
    inputs.extend(r.settings.extractor.weights.as_deref());
    let mut outputs = vec![Target::dir(&dir), Target::file(sibling(&out, "ckpt"), true)];
    for f in [out.clone(), sibling(&out, "losses.csv"), sibling(&out, "losses.png")] {
        outputs.push(Target { dir: r.format == "frames" && f == out, ..Target::file(f, ours) });
    }
    check_outputs(&inputs, &outputs, true)
}

fn execute(r: &Run, dir: &Path, obs: &mut dyn Observer) -> Result<Metrics> {
    let out = dir.join(r.result_name());
    let job = job(r, out.clone());
    let done = pipeline::execute(&job, &mut Watching(obs))?;
    if let Some(why) = done.no_progress.filter(|_| !r.allow_no_progress) {
        return Err(Error::invalid(
            "run",
            format!(
                "{why}; the result is in {} to look at; set optimizer.allow_no_progress: true to accept it",
                out.display()
            ),
        ));
    }
    let [total, content, style, tv] = done.final_loss;
    Ok(Metrics {
        name: r.name.clone(),
        result: r.result_name(),
        final_loss: FinalLoss { total, content, style, tv },
        iterations: done.iterations,
        seconds: 0.0,
        resumed: done.resumed,
        stops: done.stops,
        peak_memory_kib: peak_memory_kib(),
        threads: rayon::current_num_threads(),
        host: hostname(),
        versions: Versions {
            ndstyle: env!("CARGO_PKG_VERSION").into(),
            config_schema: crate::config::VERSION,
        },
    })
}

/// The pipeline job of run `r`, writing its result to `out` (resuming a checkpoint there).
pub fn job(r: &Run, out: PathBuf) -> Job {
    Job {
        content: r.content.clone(),
        styles: r.styles.clone(),
        init_file: r.init_file.clone(),
        load: r.load,
        settings: r.settings.clone(),
        preserve_color: r.preserve_color,
        size: r.size,
        output: out,
        resume: true,
        style_axes: r.style_axes.clone(),
        temporal: r.temporal,
    }
}

/// An observer following one run's pipeline.
struct Watching<'a>(&'a mut dyn Observer);

impl pipeline::Watch for Watching<'_> {
    fn note(&mut self, note: &str) {
        self.0.note(note)
    }
    fn iter(&mut self, p: &Progress) -> Result<()> {
        self.0.iter(p)
    }
}

/// VmHWM from /proc/self/status (Linux), in KiB.
pub fn peak_memory_kib() -> Option<u64> {
    let s = fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// A run's lock file, removed when dropped.
struct Lock(PathBuf);

impl Lock {
    /// Take the lock of run directory `dir`, or `None` when another live process holds it.
    fn acquire(dir: &Path) -> Result<Option<Lock>> {
        let path = dir.join(LOCK);
        for attempt in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    writeln!(f, "{} {}", hostname(), std::process::id()).map_err(|e| Error::io(&path, e))?;
                    return Ok(Some(Lock(path)));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if attempt == 0 && is_stale(&path) {
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    return Ok(None);
                }
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        Ok(None)
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// A lock written on this host by a process that no longer exists.
pub fn is_stale(lock: &Path) -> bool {
    let Ok(text) = fs::read_to_string(lock) else { return false };
    let mut it = text.split_whitespace();
    match (it.next(), it.next().and_then(|p| p.parse::<u32>().ok())) {
        (Some(host), Some(pid)) => {
            // Only Linux tells from /proc whether a pid is alive; elsewhere a lock is never stale.
            cfg!(target_os = "linux")
                && host == hostname()
                && pid != std::process::id()
                && !Path::new(&format!("/proc/{pid}")).exists()
        }
        _ => false,
    }
}
