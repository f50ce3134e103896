//! One style-transfer run, top to bottom: pyramid levels, targets, optimisation, checkpoints, loss log.

mod axes;
mod checkpoint;
mod cross;
pub mod given;
mod guard;
mod level;
mod load;
mod outputs;
mod settings;
mod tiling;
pub mod verdict;

pub use axes::{AxisName, ContentKind, SliceAxes};
pub use checkpoint::Checkpoint;
pub use cross::{stylize_cross, CrossInputs, CrossSettings};
pub use given::{Bad, Given, SETTINGS};
pub use guard::{check_outputs, Target};
use level::LevelRun;
pub use load::{adapt, load_init, load_inputs, same_rate, style_options};
pub use outputs::{resize_longer_side, sibling, write_outputs};
pub use settings::{Init, OptimizerKind, Settings};
use tiling::level_tile;

use std::path::Path;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::extractors;
use crate::io::csv::LossRow;
use crate::losses::Objective;
use crate::optim::{Optimizer, StopReason};
use crate::rng::Rng;
use crate::tensor::resample::{resize, Interp};
use crate::tensor::Tensor;

/// The inputs of one run, already converted to tensors of one rank.
#[derive(Clone, Debug)]
pub struct Inputs<const N: usize> {
    pub content: Tensor<N>,
    /// Style inputs with their blend weights.
    pub styles: Vec<(Tensor<N>, f64)>,
    /// The starting point when [`Init::File`] is chosen.
    pub init: Option<Tensor<N>>,
}

/// What happened at one iteration, for progress displays.
#[derive(Clone, Debug)]
pub struct Progress<'a> {
    pub level: usize,
    pub levels: usize,
    pub iteration: usize,
    pub iterations: usize,
    pub row: &'a LossRow,
    pub seconds_per_iter: f64,
}

/// The result and the log of every iteration (across levels, numbered consecutively).
#[derive(Clone, Debug)]
pub struct Outcome<const N: usize> {
    pub result: Tensor<N>,
    pub log: Vec<LossRow>,
    pub style_layers: Vec<String>,
    /// Why each level run by this call stopped (levels finished before a resume are not listed).
    pub stops: Vec<LevelStop>,
}

/// How one pyramid level ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelStop {
    pub level: usize,
    /// Iterations the level completed.
    pub iterations: usize,
    pub reason: StopReason,
    /// Tiles each evaluation ran over (1: the whole input at once).
    pub tiles: usize,
}

/// Run style transfer. With `checkpoint` set, the state is saved there (atomically) every
/// `settings.checkpoint_every` iterations and at the end of each level; with `resume`, a run
/// continues from that file and reaches the same result as an uninterrupted one.
pub fn stylize<const N: usize>(
    settings: &Settings,
    inputs: &Inputs<N>,
    checkpoint: Option<&Path>,
    resume: bool,
    on_iter: &mut dyn FnMut(&Progress) -> Result<()>,
) -> Result<Outcome<N>> {
    settings.validate()?;
    check_styles(inputs.content.channels(), &inputs.styles)?;
    let ext = extractors::build::<N>(&settings.extractor, inputs.content.channels())?;
    let (content_layers, style_layers) = layer_choice(settings, &ext, &ext);
    // The finest level is the largest: refuse now what would not fit there, even in tiles.
    let full_styles: Vec<(&Tensor<N>, f64)> = inputs.styles.iter().map(|(s, w)| (s, *w)).collect();
    level_tile(settings, &ext.net, &content_layers, &style_layers, &inputs.content, &full_styles)?;
    let fingerprint = settings.fingerprint(inputs);
    let mut state = match (resume, checkpoint) {
        (true, Some(path)) if path.exists() => Checkpoint::<N>::load(path, fingerprint)?,
        _ => Checkpoint::fresh(),
    };
    let mut x: Option<Tensor<N>> = state.x.take();
    let layer_names: Vec<String> = style_layers.iter().map(|(l, _)| l.clone()).collect();
    let started = Instant::now();
    let mut stops = Vec::new();
    for level in state.level..settings.levels {
        let size = level_size(inputs.content.spatial(), settings.levels, level);
        let content = resize(&inputs.content, size, Interp::Linear)?;
        let styles = level_styles(&inputs.styles, settings.levels, level)?;
        let cur = level_start(settings, x.take(), inputs.init.as_ref(), &content)?;
        let style_refs: Vec<(&Tensor<N>, f64)> = styles.iter().map(|(s, w)| (s, *w)).collect();
        let use_content = settings.weights.content != 0.0;
        let tile = level_tile(settings, &ext.net, &content_layers, &style_layers, &content, &style_refs)?;
        let obj = Objective::tiled(
            &ext.net,
            settings.weights.clone(),
            use_content.then_some((&content, content_layers.as_slice())),
            &style_refs,
            &style_layers,
            tile,
        )?;
        let shape = (cur.batch(), cur.channels(), cur.spatial());
        let every = settings.checkpoint_every;
        let mut save = |it: usize, xs: &[f32], opt: &dyn Optimizer, log: &[LossRow]| -> Result<()> {
            if let (Some(path), true) =
                (checkpoint, every > 0 && it.is_multiple_of(every) && it < settings.iters)
            {
                let t = Tensor::from_vec(shape.0, shape.1, shape.2, xs.to_vec())?;
                Checkpoint::save(path, fingerprint, level, it, &t, Some(&opt.state().to_bytes()), log)?;
            }
            Ok(())
        };
        let run =
            LevelRun { settings, level, start_iter: state.iter, optimizer: state.optimizer.take(), started };
        let (cur, summary) = run.run(cur, &|t| obj.eval(t), &mut state.log, on_iter, &mut save)?;
        let tiles = obj.tiles(size)?;
        stops.push(LevelStop { level, iterations: summary.iters, reason: summary.reason, tiles });
        state.iter = 0;
        if let Some(path) = checkpoint {
            let next_level = level + 1;
            Checkpoint::save(path, fingerprint, next_level, 0, &cur, None, &state.log)?;
        }
        x = Some(cur);
    }
    let result = x.ok_or_else(|| Error::invalid("levels", "at least one pyramid level is needed"))?;
    Ok(Outcome { result, log: state.log, style_layers: layer_names, stops })
}

/// The content layers (of `content_ext`) and the weighted style layers (of `style_ext`): the
/// settings' choice, or the extractors' defaults with the style layers weighted equally.
fn layer_choice<const N: usize, const M: usize>(
    settings: &Settings,
    content_ext: &extractors::Extractor<N>,
    style_ext: &extractors::Extractor<M>,
) -> (Vec<String>, Vec<(String, f64)>) {
    let content = settings.content_layers.clone().unwrap_or_else(|| content_ext.content_layers.clone());
    let style = settings.style_layers.clone().unwrap_or_else(|| {
        let n = style_ext.style_layers.len() as f64;
        style_ext.style_layers.iter().map(|l| (l.clone(), 1.0 / n)).collect()
    });
    (content, style)
}

/// The styles resized for pyramid `level` of `levels` (each by its own size, see [`level_size`]).
fn level_styles<const M: usize>(
    styles: &[(Tensor<M>, f64)],
    levels: usize,
    level: usize,
) -> Result<Vec<(Tensor<M>, f64)>> {
    styles
        .iter()
        .map(|(s, w)| Ok((resize(s, level_size(s.spatial(), levels, level), Interp::Linear)?, *w)))
        .collect()
}

/// Where a level starts: the previous level's result resized to the content's size, or at the
/// coarsest level the starting point [`Settings::init`] names.
fn level_start<const N: usize>(
    settings: &Settings,
    previous: Option<Tensor<N>>,
    init: Option<&Tensor<N>>,
    content: &Tensor<N>,
) -> Result<Tensor<N>> {
    match previous {
        Some(t) if t.spatial() == content.spatial() => Ok(t),
        Some(t) => resize(&t, content.spatial(), Interp::Linear),
        None => initial(settings, init, content),
    }
}

/// Spatial size at pyramid `level` of `levels` (0 is the coarsest): the full size halved per level
/// below the finest, never under 8 positions per axis (or the full size if smaller).
pub fn level_size<const N: usize>(full: [usize; N], levels: usize, level: usize) -> [usize; N] {
    let factor = 1usize << (levels - 1 - level);
    full.map(|s| s.div_ceil(factor).max(s.min(8)))
}

/// The starting point at the coarsest level.
fn initial<const N: usize>(
    settings: &Settings,
    init: Option<&Tensor<N>>,
    content: &Tensor<N>,
) -> Result<Tensor<N>> {
    let (mean, std) = moments(content);
    let noise = |scale: f32| {
        let mut rng = Rng::new(settings.extractor.seed ^ 0x1417);
        let mut t = content.clone();
        t.data_mut().iter_mut().for_each(|v| *v = scale * rng.normal());
        t
    };
    Ok(match settings.init {
        Init::Noise => noise(std.max(1e-3)).map(|v| v + mean),
        Init::Content => content.clone(),
        Init::ContentNoise(ratio) => {
            let mut t = content.clone();
            t.axpy(1.0, &noise(ratio * std.max(1e-3)))?;
            t
        }
        Init::File => {
            let t = init.ok_or_else(|| Error::invalid("init", "'file' needs an initial input"))?;
            if t.channels() != content.channels() {
                return Err(Error::shape(
                    "init",
                    format!("initial input {} vs content {}", t.shape_string(), content.shape_string()),
                ));
            }
            resize(t, content.spatial(), Interp::Linear)?
        }
    })
}

fn moments<const N: usize>(t: &Tensor<N>) -> (f32, f32) {
    let n = t.len().max(1) as f64;
    let mean = t.sum() / n;
    let var = t.data().iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean as f32, var.sqrt() as f32)
}

/// Refuse no styles, styles whose channels differ from the content's `c`, and bad blend weights.
fn check_styles<const M: usize>(c: usize, styles: &[(Tensor<M>, f64)]) -> Result<()> {
    if styles.is_empty() {
        return Err(Error::invalid("styles", "at least one style input is needed"));
    }
    if styles.iter().all(|(_, w)| *w == 0.0) {
        return Err(Error::invalid("style weight", "every style weight is 0; at least one must be > 0"));
    }
    for (i, (s, w)) in styles.iter().enumerate() {
        if s.channels() != c {
            return Err(Error::shape(
                "stylize",
                format!("style {} has {} channels but the content has {c}", i + 1, s.channels()),
            ));
        }
        if !(w.is_finite() && *w >= 0.0) {
            return Err(Error::invalid(
                "style weight",
                format!("style {}: {w} (must be finite and >= 0)", i + 1),
            ));
        }
    }
    Ok(())
}
