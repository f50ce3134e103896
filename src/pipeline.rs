//! One pipeline from input files to written outputs, used by `stylize` and by every run of `run`.
//!
//! Read the inputs (one rank for all, chosen by [`with_rank!`]), check what a resize would need,
//! prepare colours, optimise (with checkpoints), restore colours, resize, write the result, the
//! losses table and plot, and judge whether the run made progress.

use std::path::PathBuf;

use crate::data::{self, LoadOptions};
use crate::error::Result;
use crate::modality::color::{self, PreserveColor};
use crate::runner::{self, load_inputs, sibling, verdict, write_outputs, Progress, Settings};
use crate::with_rank;

/// Everything one stylisation needs, however it was asked for.
#[derive(Clone, Debug)]
pub struct Job {
    pub content: PathBuf,
    /// Style inputs with their blend weights.
    pub styles: Vec<(PathBuf, f64)>,
    pub init_file: Option<PathBuf>,
    pub load: LoadOptions,
    pub settings: Settings,
    pub preserve_color: PreserveColor,
    /// Resize the result so that its longer side is this many pixels (images).
    pub size: Option<u32>,
    /// The result; its losses table, plot and checkpoint go beside it.
    pub output: PathBuf,
    /// Continue from the checkpoint beside the output when there is one.
    pub resume: bool,
}

impl Job {
    /// The checkpoint written beside the output while the job runs.
    pub fn checkpoint(&self) -> PathBuf {
        sibling(&self.output, "ckpt")
    }
}

/// What a finished job did.
#[derive(Clone, Debug, PartialEq)]
pub struct Done {
    /// The last logged row's losses: total, content, style (summed over layers), TV.
    pub final_loss: [f64; 4],
    /// Logged iterations, over all levels.
    pub iterations: usize,
    /// Why each level run by this call stopped.
    pub stops: Vec<String>,
    /// Why the run counts as making no progress, if it does ([`verdict::no_progress`]).
    pub no_progress: Option<String>,
    /// Whether it continued from a checkpoint.
    pub resumed: bool,
}

/// Follows a job: what the readers inferred, and every iteration.
pub trait Watch {
    /// What the readers inferred or changed (layouts, channel adaptations), before the work starts.
    fn note(&mut self, note: &str);
    /// After each iteration; an error stops the run and keeps its checkpoint.
    fn iter(&mut self, p: &Progress) -> Result<()>;
}

/// Run `job`, telling `watch` what happens. The checkpoint is removed once the outputs are written.
pub fn execute(job: &Job, watch: &mut dyn Watch) -> Result<Done> {
    let rank = data::probe_rank(&job.content, &job.load)?;
    with_rank!(rank, N => execute_rank::<N>(job, watch))
}

fn execute_rank<const N: usize>(job: &Job, watch: &mut dyn Watch) -> Result<Done> {
    let (mut inputs, source) =
        load_inputs::<N>(&job.content, &job.styles, job.init_file.as_deref(), &job.load)?;
    for note in &source.notes {
        watch.note(note);
    }
    if let Some(side) = job.size {
        crate::budget::check_resize(inputs.content.channels(), &inputs.content.spatial(), side)?;
    }
    let restore =
        color::prepare(job.preserve_color, &mut inputs.content, &mut inputs.styles, inputs.init.as_mut())?;
    let ckpt = job.checkpoint();
    let resumed = job.resume && ckpt.exists();
    let mut outcome = runner::stylize(&job.settings, &inputs, Some(&ckpt), resumed, &mut |p| watch.iter(p))?;
    outcome.result = restore.finish(outcome.result)?;
    if let Some(side) = job.size {
        outcome.result = runner::resize_longer_side(&outcome.result, side)?;
    }
    write_outputs(&job.output, &outcome, source)?;
    if ckpt.exists() {
        std::fs::remove_file(&ckpt).map_err(|e| crate::Error::io(&ckpt, e))?;
    }
    let last = outcome.log.last();
    let pick = |f: fn(&crate::io::csv::LossRow) -> f64| last.map_or(f64::NAN, f);
    Ok(Done {
        final_loss: [pick(|l| l.total), pick(|l| l.content), pick(|l| l.style.iter().sum()), pick(|l| l.tv)],
        iterations: outcome.log.len(),
        stops: verdict::stop_lines(&outcome.stops, job.settings.levels),
        no_progress: verdict::no_progress(&outcome),
        resumed,
    })
}
