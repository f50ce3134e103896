//! `ndstyle stylize`: read the inputs, run the optimisation with progress, write result, log, plot.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;

use super::progress::Bar;
use super::{parse_style_layers, ExtractorArgs};
use ndstyle::data;
use ndstyle::losses::Weights;
use ndstyle::modality::color::{self, PreserveColor};
use ndstyle::runner::{
    check_outputs, load_inputs, resize_longer_side, sibling, stylize, verdict, write_outputs, Init,
    OptimizerKind, Progress, Settings, Target,
};

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
    /// The result (.png, .jpg or .npy); OUT.losses.csv, OUT.losses.png and OUT.ckpt go beside it.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub ext: ExtractorArgs,
    /// Content weight α.
    #[arg(long, default_value_t = 1.0)]
    pub alpha: f64,
    /// Style weight β.
    #[arg(long, default_value_t = 1e3)]
    pub beta: f64,
    /// Total-variation weight.
    #[arg(long, default_value_t = 0.0)]
    pub tv: f64,
    /// Optimiser: lbfgs or adam.
    #[arg(long, default_value = "lbfgs")]
    pub optimizer: String,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 0.02)]
    pub lr: f32,
    /// Iterations per pyramid level.
    #[arg(long, default_value_t = 100)]
    pub iters: usize,
    /// Stop a level when the relative loss change falls below this.
    #[arg(long)]
    pub rel_tol: Option<f32>,
    /// Pyramid levels (1 = full size only; each level halves the size).
    #[arg(long, default_value_t = 1)]
    pub levels: usize,
    /// Start from noise, content, content+noise[:RATIO] or file (with --init-file).
    #[arg(long, default_value = "noise")]
    pub init: String,
    /// The starting point for --init file.
    #[arg(long)]
    pub init_file: Option<PathBuf>,
    /// Write a checkpoint every K iterations (0: at the end of each level only).
    #[arg(long, default_value_t = 10)]
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
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
    /// Exit 0 even when the loss did not fall by 10% or the optimiser stopped at iteration 0-1.
    #[arg(long)]
    pub allow_no_progress: bool,
}

pub fn run(a: &StylizeArgs) -> anyhow::Result<()> {
    let rank = data::probe_rank(&a.content, a.ext.rank)?;
    match rank {
        1 => run_rank::<1>(a),
        2 => run_rank::<2>(a),
        _ => run_rank::<3>(a),
    }
}

fn run_rank<const N: usize>(a: &StylizeArgs) -> anyhow::Result<()> {
    let out = &a.output;
    let ckpt = sibling(out, "ckpt");
    guard_outputs(a, &ckpt)?;
    if ckpt.exists() && !a.resume {
        bail!(
            "{} exists from an interrupted run; pass --resume to continue it, or remove it",
            ckpt.display()
        );
    }
    if a.style_weight.len() > a.style.len()
        || (!a.style_weight.is_empty() && a.style_weight.len() != a.style.len())
    {
        bail!("--style-weight given {} times for {} styles", a.style_weight.len(), a.style.len());
    }
    if let Some(side) = a.size {
        if N != 2 || side == 0 {
            bail!("--size {side}: resizes images (rank 2) to a longer side of at least 1 pixel");
        }
    }
    let settings = settings(a)?;
    let weights = a.style_weight.iter().copied().chain(std::iter::repeat(1.0));
    let styles: Vec<(PathBuf, f64)> = a.style.iter().cloned().zip(weights).collect();
    let preserve: PreserveColor = a.preserve_color.parse()?;
    let (mut inputs, source) =
        load_inputs::<N>(&a.content, &styles, a.init_file.as_deref(), &a.ext.load_options()?)?;
    if let Some(side) = a.size {
        ndstyle::budget::check_resize(inputs.content.channels(), &inputs.content.spatial(), side)?;
    }
    let restore = color::prepare(preserve, &mut inputs.content, &mut inputs.styles, inputs.init.as_mut())
        .with_context(|| format!("--preserve-color {}", preserve.name()))?;
    let mut outcome =
        with_progress(a, &settings, |on_iter| stylize(&settings, &inputs, Some(&ckpt), a.resume, on_iter))?;
    outcome.result = restore.finish(outcome.result)?;
    if let Some(side) = a.size {
        outcome.result = resize_longer_side(&outcome.result, side)?;
    }
    write_outputs(out, &outcome, source)?;
    std::fs::remove_file(&ckpt).with_context(|| format!("removing {}", ckpt.display()))?;
    if !a.quiet {
        let last = outcome.log.last().map(|r| r.total).unwrap_or(f64::NAN);
        eprintln!(
            "wrote {} (final loss {last:.4e}), {}, {}",
            out.display(),
            sibling(out, "losses.csv").display(),
            sibling(out, "losses.png").display()
        );
        for line in verdict::stop_lines(&outcome.stops, settings.levels) {
            eprintln!("{line}");
        }
    }
    match verdict::no_progress(&outcome) {
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
    let optimizer = match a.optimizer.as_str() {
        "lbfgs" => OptimizerKind::Lbfgs,
        "adam" => OptimizerKind::Adam { lr: a.lr },
        o => bail!("--optimizer '{o}' is not known (lbfgs or adam)"),
    };
    let init: Init = a.init.parse()?;
    if init == Init::File && a.init_file.is_none() {
        bail!("--init file needs --init-file PATH");
    }
    let s = Settings {
        extractor: a.ext.spec(&a.content)?,
        content_layers: a.ext.content_layers.clone(),
        style_layers: a.ext.style_layers.as_deref().map(parse_style_layers).transpose()?,
        weights: Weights { content: a.alpha, style: a.beta, tv: a.tv, norm: a.ext.norm.parse()? },
        optimizer,
        iters: a.iters,
        rel_tol: a.rel_tol,
        levels: a.levels,
        init,
        checkpoint_every: a.checkpoint_every,
    };
    s.validate()?;
    Ok(s)
}

/// Run `f` with a progress bar (or silently with `--quiet`).
pub fn with_progress<T>(
    a: &StylizeArgs,
    s: &Settings,
    f: impl FnOnce(&mut dyn FnMut(&Progress) -> ndstyle::Result<()>) -> ndstyle::Result<T>,
) -> anyhow::Result<T> {
    let bar = Bar::new(a.quiet, s.iters, s.levels);
    let mut on_iter = |p: &Progress| {
        bar.update(p);
        Ok(())
    };
    let out = f(&mut on_iter);
    bar.finish();
    Ok(out?)
}
