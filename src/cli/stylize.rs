//! `ndstyle stylize`: read the inputs, run the optimisation with progress, write result, log, plot.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;

use super::progress::Bar;
use super::{flag_error, ExtractorArgs};
use ndstyle::data;
use ndstyle::modality::color::PreserveColor;
use ndstyle::pipeline::{self, Job};
use ndstyle::runner::given::default_of_key;
use ndstyle::runner::{check_outputs, sibling, Given, Settings, Target};

#[derive(Args, Debug)]
pub struct StylizeArgs {
    /// The content input.
    #[arg(long)]
    pub content: PathBuf,
    /// A style input; repeat for several.
    #[arg(long, required = true)]
    pub style: Vec<PathBuf>,
    /// Blend weight of each style, in order (default: equal).
    #[arg(long)]
    pub style_weight: Vec<f64>,
    /// The result, in the format its extension names (`ndstyle info` lists them; usually the
    /// content's); OUT.losses.csv, OUT.losses.png and OUT.ckpt go beside it.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub ext: ExtractorArgs,
    /// Content weight α.
    #[arg(long, default_value = default_of_key("losses.alpha"))]
    pub alpha: f64,
    /// Style weight β.
    #[arg(long, default_value = default_of_key("losses.beta"))]
    pub beta: f64,
    /// Total-variation weight.
    #[arg(long, default_value = default_of_key("losses.tv"))]
    pub tv: f64,
    /// Optimiser: lbfgs or adam.
    #[arg(long, default_value = default_of_key("optimizer.name"))]
    pub optimizer: String,
    /// Adam's learning rate.
    #[arg(long, default_value = default_of_key("optimizer.lr"))]
    pub lr: f32,
    /// Iterations per pyramid level.
    #[arg(long, default_value = default_of_key("optimizer.iterations"))]
    pub iters: usize,
    /// Stop a level when the relative loss change falls below this.
    #[arg(long)]
    pub rel_tol: Option<f32>,
    /// Pyramid levels (1 = full size only; each level halves the size).
    #[arg(long, default_value = default_of_key("optimizer.levels"))]
    pub levels: usize,
    /// Start from auto (noise for images, the content otherwise), noise, content,
    /// content+noise[:RATIO] or file (with --init-file).
    #[arg(long, default_value = default_of_key("init"))]
    pub init: String,
    /// The starting point for --init file.
    #[arg(long)]
    pub init_file: Option<PathBuf>,
    /// Write a checkpoint every K iterations (0: at the end of each level only).
    #[arg(long, default_value = default_of_key("optimizer.checkpoint_every"))]
    pub checkpoint_every: usize,
    /// Continue an interrupted run from OUT.ckpt.
    #[arg(long)]
    pub resume: bool,
    /// Replace an existing result.
    #[arg(long)]
    pub overwrite: bool,
    /// Keep the content's colours (RGB only): luminance (stylise Y of YIQ, keep the content's IQ)
    /// or histogram (match the style's colour mean and covariance to the content's first).
    #[arg(long, default_value = "none")]
    pub preserve_color: String,
    /// Resize the result so that its longer side is this many pixels (images).
    #[arg(long)]
    pub size: Option<u32>,
    /// Evaluate over tiles of SIZE positions per axis: the same result in memory bounded by the
    /// tile (by default tiles are used only when the whole input would not fit in memory).
    #[arg(long, value_name = "SIZE")]
    pub tile: Option<usize>,
    /// Styles one rank below the content (a painting for a video or volume): the axes whose slices
    /// they are compared with: auto (each frame of a video, all three orientations of a volume),
    /// all, time, or a list such as 0,1,2 or d,h,w.
    #[arg(long, default_value = "auto")]
    pub style_axes: String,
    /// Weight of the temporal term of videos styled by images (default 1; 0 turns it off).
    #[arg(long)]
    pub temporal: Option<f64>,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
    /// Exit 0 even when the loss did not fall by 10% or the optimiser stopped at iteration 0-1.
    #[arg(long)]
    pub allow_no_progress: bool,
}

pub fn run(a: &StylizeArgs) -> anyhow::Result<()> {
    ndstyle::modality::audio::set_quiet(a.quiet);
    let out = &a.output;
    let ckpt = sibling(out, "ckpt");
    guard_outputs(a, &ckpt)?;
    if ckpt.exists() && !a.resume {
        bail!(
            "{} exists from an interrupted run; pass --resume to continue it, or remove it",
            ckpt.display()
        );
    }
    if !a.style_weight.is_empty() && a.style_weight.len() != a.style.len() {
        bail!("--style-weight given {} times for {} styles", a.style_weight.len(), a.style.len());
    }
    let load = a.ext.load_options()?;
    let rank = data::probe_rank(&a.content, &load)?;
    if let Some(side) = a.size {
        if rank != 2 || side == 0 {
            bail!("--size {side}: resizes images (rank 2) to a longer side of at least 1 pixel");
        }
    }
    let weights = a.style_weight.iter().copied().chain(std::iter::repeat(1.0));
    let job = Job {
        content: a.content.clone(),
        styles: a.style.iter().cloned().zip(weights).collect(),
        init_file: a.init_file.clone(),
        load,
        settings: settings(a)?,
        preserve_color: a.preserve_color.parse()?,
        size: a.size,
        output: out.clone(),
        resume: a.resume,
        style_axes: a.style_axes.parse()?,
        temporal: a.temporal,
    };
    if let Some(t) = a.temporal.filter(|t| !(t.is_finite() && *t >= 0.0)) {
        bail!("--temporal {t}: must be a finite number >= 0");
    }
    let bar = Bar::new(a.quiet, job.settings.iters, job.settings.levels);
    let done = pipeline::execute(&job, &mut Watching(&bar));
    bar.finish();
    let done = match job.preserve_color {
        PreserveColor::None => done?,
        p => done.with_context(|| format!("--preserve-color {}", p.name()))?,
    };
    if !a.quiet {
        eprintln!(
            "wrote {} (final loss {:.4e}), {}, {}",
            out.display(),
            done.final_loss[0],
            sibling(out, "losses.csv").display(),
            sibling(out, "losses.png").display()
        );
        for line in &done.stops {
            eprintln!("{line}");
        }
    }
    match done.no_progress {
        Some(why) if !a.allow_no_progress => {
            bail!(
                "{why}; the result is in {} to look at; pass --allow-no-progress to accept it",
                out.display()
            )
        }
        Some(why) => eprintln!("note: {why} (allowed by --allow-no-progress)"),
        None => {}
    }
    Ok(())
}

/// Refuse, before any work, outputs that are inputs, that replace files without --overwrite, or
/// whose directory is missing or not writable.
fn guard_outputs(a: &StylizeArgs, ckpt: &std::path::Path) -> anyhow::Result<()> {
    let out = &a.output;
    let mut inputs: Vec<&std::path::Path> = vec![a.content.as_path()];
    inputs.extend(a.style.iter().map(PathBuf::as_path));
    inputs.extend(a.init_file.as_deref());
    inputs.extend(a.ext.weights.as_deref());
    let frames = out.extension().is_none() && !out.to_string_lossy().contains(":/");
    let result = if frames {
        Target { replace: a.overwrite, ..Target::dir(out) }
    } else {
        Target::file(out, a.overwrite)
    };
    let outputs = [
        result,
        Target::file(sibling(out, "losses.csv"), a.overwrite),
        Target::file(sibling(out, "losses.png"), a.overwrite),
        Target::file(ckpt, true),
    ];
    Ok(check_outputs(&inputs, &outputs, false)?)
}

fn settings(a: &StylizeArgs) -> anyhow::Result<Settings> {
    let given = Given {
        alpha: Some(a.alpha),
        beta: Some(a.beta),
        tv: Some(a.tv),
        optimizer: Some(a.optimizer.clone()),
        lr: Some(a.lr),
        iters: Some(a.iters),
        levels: Some(a.levels),
        rel_tol: a.rel_tol,
        checkpoint_every: Some(a.checkpoint_every),
        init: Some(a.init.clone()),
        tile: a.tile,
        ..a.ext.given()?
    };
    let kind = data::kind_of(&a.content)?;
    let s = given.build(kind, a.init_file.is_some()).map_err(flag_error)?;
    s.validate()?;
    Ok(s)
}

/// The progress bar and notes on stderr.
struct Watching<'a>(&'a Bar);

impl pipeline::Watch for Watching<'_> {
    fn note(&mut self, note: &str) {
        eprintln!("note: {note}");
    }
    fn iter(&mut self, p: &ndstyle::runner::Progress) -> ndstyle::Result<()> {
        self.0.update(p);
        Ok(())
    }
}
