//! One pipeline from input files to written outputs, used by `stylize` and by every run of `run`.
//!
//! Read the inputs (one rank for all, chosen by [`with_rank!`]), check what a resize would need,
//! prepare colours, optimise (with checkpoints), restore colours, resize, write the result, the
//! losses table and plot, and judge whether the run made progress.

use std::path::PathBuf;

use crate::data::{self, LoadOptions};
use crate::error::Result;
use crate::modality::color::{self, PreserveColor};
use crate::modality::Kind;
use crate::runner::{
    self, load_inputs, sibling, verdict, write_outputs, ContentKind, CrossInputs, CrossSettings, Progress,
    Settings, SliceAxes,
};
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
    /// For styles one rank below the content: the axes their slices are taken across.
    pub style_axes: SliceAxes,
    /// Weight of the temporal term of cross-rank video runs (`None`: the kind's default).
    pub temporal: Option<f64>,
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
    match pairing(job)? {
        Pairing::Same => with_rank!(rank, N => execute_rank::<N>(job, watch)),
        Pairing::Slices { axes, .. } => {
            watch.note(&pairing_line(job, rank, &axes));
            match rank {
                2 => execute_cross::<2, 1>(job, watch),
                3 => execute_cross::<3, 2>(job, watch),
                r => Err(crate::rank::unsupported(r)),
            }
        }
    }
}

/// How the styles meet the content.
#[derive(Clone, Debug, PartialEq)]
pub enum Pairing {
    /// Styles of the content's rank.
    Same,
    /// Styles one rank lower, compared with the content's slices across `axes`.
    Slices { style_rank: usize, axes: Vec<usize> },
}

/// How `job`'s styles pair with its content: every style must have the content's rank or one less.
pub fn pairing(job: &Job) -> Result<Pairing> {
    let rank = data::probe_rank(&job.content, &job.load)?;
    let mut ranks = Vec::new();
    for (path, _) in &job.styles {
        ranks.push((path, data::probe_rank(path, &runner::style_options(path, &job.load))?));
    }
    let lower = ranks.iter().filter(|(_, r)| *r + 1 == rank).count();
    if let Some((path, r)) = ranks.iter().find(|(_, r)| *r != rank && *r + 1 != rank) {
        return Err(crate::Error::format(
            path.as_path(),
            format!("holds rank-{r} data, but the content has rank {rank}: a style needs the content's rank or one less"),
        ));
    }
    if lower == 0 {
        return Ok(Pairing::Same);
    }
    if lower != ranks.len() {
        return Err(crate::Error::invalid(
            "styles",
            format!("mixes rank-{rank} and rank-{} styles; give styles of one rank", rank - 1),
        ));
    }
    let axes = job.style_axes.resolve(content_kind(&job.content), rank)?;
    Ok(Pairing::Slices { style_rank: rank - 1, axes })
}

/// The log line saying how lower-rank styles are applied.
fn pairing_line(job: &Job, rank: usize, axes: &[usize]) -> String {
    let names: Vec<String> = axes.iter().map(usize::to_string).collect();
    format!(
        "rank-{} styles applied to the content's slices across axis {} (--style-axes / inputs.style_axes); content loss on the rank-{rank} extractor{}",
        rank - 1,
        names.join(", "),
        match content_kind(&job.content) {
            ContentKind::Video => " with the temporal term",
            _ => "",
        }
    )
}

fn content_kind(content: &std::path::Path) -> ContentKind {
    match data::kind_of(content) {
        Ok(Some(Kind::Video)) => ContentKind::Video,
        Ok(Some(Kind::Volume)) => ContentKind::Volume,
        _ => ContentKind::Other,
    }
}

fn execute_cross<const N: usize, const M: usize>(job: &Job, watch: &mut dyn Watch) -> Result<Done> {
    if job.preserve_color != PreserveColor::None {
        return Err(crate::Error::invalid(
            "preserve color",
            "needs styles of the content's rank (these are one rank lower)",
        ));
    }
    let (content, mut source) = data::load_with::<N>(&job.content, &job.load)?;
    let mut styles = Vec::new();
    for (path, w) in &job.styles {
        let (t, s) = data::load_with::<M>(path, &runner::style_options(path, &job.load))?;
        runner::same_rate(path, &s, &job.content, &source)?;
        source.notes.extend(s.notes);
        styles.push((runner::adapt(path, &job.content, &content, t, &mut source)?, *w));
    }
    let init =
        job.init_file.as_deref().map(|p| runner::load_init(p, &job.load, &job.content, &content, &source));
    let init = init.transpose()?;
    for note in &source.notes {
        watch.note(note);
    }
    let mut cross = CrossSettings::for_kind(content_kind(&job.content));
    cross.axes = job.style_axes.clone();
    if let Some(t) = job.temporal {
        cross.temporal = t;
    }
    let inputs = CrossInputs { content, styles, init };
    let mut outcome = runner::stylize_cross(&job.settings, &cross, &inputs, &mut |p| watch.iter(p))?;
    if let Some(side) = job.size {
        outcome.result = runner::resize_longer_side(&outcome.result, side)?;
    }
    finish(job, outcome, source, false)
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
    finish(job, outcome, source, resumed)
}

/// Write the outputs of a finished run, remove its checkpoint, and say how it went.
fn finish<const N: usize>(
    job: &Job,
    outcome: runner::Outcome<N>,
    source: data::Source,
    resumed: bool,
) -> Result<Done> {
    write_outputs(&job.output, &outcome, source)?;
    let ckpt = job.checkpoint();
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
