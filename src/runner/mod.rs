//! One style-transfer run, top to bottom: pyramid levels, targets, optimisation, checkpoints, loss log.

mod checkpoint;
pub mod given;
mod guard;
mod load;
mod outputs;
mod settings;
mod tiling;
pub mod verdict;

pub use checkpoint::Checkpoint;
pub use given::{Bad, Given, SETTINGS};
pub use guard::{check_outputs, Target};
pub use load::load_inputs;
pub use outputs::{resize_longer_side, sibling, write_outputs};
pub use settings::{Init, OptimizerKind, Settings};
use tiling::level_tile;

use std::collections::VecDeque;
use std::path::Path;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::extractors;
use crate::io::csv::LossRow;
use crate::losses::{Breakdown, Objective};
use crate::optim::{minimize, Adam, AdamOptions, Lbfgs, LbfgsOptions, Optimizer, StepInfo, Stop, StopReason};
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
    check_inputs(inputs)?;
    let ext = extractors::build::<N>(&settings.extractor, inputs.content.channels())?;
    let content_layers = settings.content_layers.clone().unwrap_or_else(|| ext.content_layers.clone());
    let style_layers: Vec<(String, f64)> = settings.style_layers.clone().unwrap_or_else(|| {
        ext.style_layers.iter().map(|l| (l.clone(), 1.0 / ext.style_layers.len() as f64)).collect()
    });
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
        let styles = inputs
            .styles
            .iter()
            .map(|(s, w)| {
                Ok((resize(s, level_size(s.spatial(), settings.levels, level), Interp::Linear)?, *w))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut cur = match x.take() {
            Some(t) if t.spatial() == size => t,
            Some(t) => resize(&t, size, Interp::Linear)?,
            None => initial(settings, inputs, &content)?,
        };
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
        if state.log.is_empty() {
            // Iteration 0: the starting point, so the log shows where the run began.
            let (b, _) = obj.eval(&cur)?;
            state.log.push(row(0, &b, 0.0));
        }
        let mut opt = make_optimizer(settings)?;
        if let Some(bytes) = state.optimizer.take() {
            opt.restore(crate::optim::OptimState::from_bytes(&bytes)?)?;
        }
        let recent = std::cell::RefCell::new(VecDeque::<(Vec<f32>, Breakdown)>::new());
        let shape = (cur.batch(), cur.channels(), cur.spatial());
        let mut f = |xs: &[f32], grad: &mut [f32]| -> Result<f32> {
            let t = Tensor::from_vec(shape.0, shape.1, shape.2, xs.to_vec())?;
            let (b, g) = obj.eval(&t)?;
            grad.copy_from_slice(g.data());
            let mut r = recent.borrow_mut();
            if r.len() == 8 {
                r.pop_front();
            }
            let total = b.total as f32;
            r.push_back((xs.to_vec(), b));
            Ok(total)
        };
        let stop = Stop { max_iters: settings.iters, rel_tol: settings.rel_tol, start_iter: state.iter };
        let mut last = Instant::now();
        let base_iter = level * settings.iters;
        let every = settings.checkpoint_every;
        let mut data = cur.data().to_vec();
        let log = &mut state.log;
        let mut on_step = |it: usize, _: &StepInfo, xs: &[f32], opt: &dyn Optimizer| -> Result<()> {
            let r = recent.borrow();
            let b = r.iter().rev().find(|(p, _)| p.as_slice() == xs).map(|(_, b)| b.clone());
            let b = b.ok_or_else(|| Error::invalid("optimiser", "the accepted point was never evaluated"))?;
            let secs = last.elapsed().as_secs_f64();
            last = Instant::now();
            let row = row(base_iter + it, &b, started.elapsed().as_secs_f64());
            log.push(row);
            on_iter(&Progress {
                level,
                levels: settings.levels,
                iteration: it,
                iterations: settings.iters,
                row: log.last().expect("just pushed"),
                seconds_per_iter: secs,
            })?;
            if let (Some(path), true) =
                (checkpoint, every > 0 && it.is_multiple_of(every) && it < settings.iters)
            {
                Checkpoint::save(
                    path,
                    fingerprint,
                    level,
                    it,
                    &Tensor::from_vec(shape.0, shape.1, shape.2, xs.to_vec())?,
                    Some(&opt.state().to_bytes()),
                    log,
                )?;
            }
            Ok(())
        };
        let summary = minimize(&mut data, &mut f, opt.as_mut(), &stop, &mut on_step)?;
        let tiles = obj.tiles(size)?;
        stops.push(LevelStop { level, iterations: summary.iters, reason: summary.reason, tiles });
        cur = Tensor::from_vec(shape.0, shape.1, shape.2, data)?;
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

/// A log row from a breakdown of the objective.
fn row(iteration: usize, b: &Breakdown, seconds: f64) -> LossRow {
    LossRow {
        iteration,
        total: b.total,
        content: b.content,
        style: b.style.iter().map(|(_, j)| *j).collect(),
        tv: b.tv,
        seconds,
    }
}

fn make_optimizer(settings: &Settings) -> Result<Box<dyn Optimizer>> {
    Ok(match settings.optimizer {
        // Loss scales vary over orders of magnitude between normalisations and modalities, so no
        // absolute tolerance stops a run: iterations and `rel_tol` do.
        OptimizerKind::Lbfgs => {
            Box::new(Lbfgs::new(LbfgsOptions { grad_tol: 0.0, change_tol: 0.0, ..Default::default() })?)
        }
        OptimizerKind::Adam { lr } => Box::new(Adam::new(AdamOptions { lr, ..AdamOptions::default() })?),
    })
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
    inputs: &Inputs<N>,
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
            let t = inputs
                .init
                .as_ref()
                .ok_or_else(|| Error::invalid("init", "'file' needs an initial input"))?;
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

fn check_inputs<const N: usize>(inputs: &Inputs<N>) -> Result<()> {
    let c = inputs.content.channels();
    if inputs.styles.is_empty() {
        return Err(Error::invalid("styles", "at least one style input is needed"));
    }
    if inputs.styles.iter().all(|(_, w)| *w == 0.0) {
        return Err(Error::invalid("style weight", "every style weight is 0; at least one must be > 0"));
    }
    for (i, (s, w)) in inputs.styles.iter().enumerate() {
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
