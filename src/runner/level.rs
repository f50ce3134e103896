//! One pyramid level's optimisation of any objective: the iteration-0 row, the optimiser, the loss log and progress.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::time::Instant;

use super::{OptimizerKind, Progress, Settings};
use crate::error::{Error, Result};
use crate::io::csv::LossRow;
use crate::losses::Breakdown;
use crate::optim::{minimize, Adam, AdamOptions, Lbfgs, LbfgsOptions, OptimState, Optimizer, Stop, Summary};
use crate::tensor::Tensor;

/// `(J, ∂J/∂x)` at a point, term by term.
pub(super) type Eval<'e, const N: usize> = dyn Fn(&Tensor<N>) -> Result<(Breakdown, Tensor<N>)> + 'e;
/// Called after each iteration's progress report with the iteration, the point, the optimiser
/// and the log so far (where checkpoints are written).
pub(super) type AfterStep<'e> = dyn FnMut(usize, &[f32], &dyn Optimizer, &[LossRow]) -> Result<()> + 'e;

/// Where one level's optimisation starts.
pub(super) struct LevelRun<'s> {
    pub settings: &'s Settings,
    pub level: usize,
    /// Iterations of this level completed before (a resumed run), and the optimiser's state then.
    pub start_iter: usize,
    pub optimizer: Option<Vec<u8>>,
    /// When the whole run started (the log's seconds count from there).
    pub started: Instant,
}

impl LevelRun<'_> {
    /// Minimise `eval` from `start` for `settings.iters` iterations (or until `rel_tol`), pushing
    /// one row per iteration to `log` (and the starting point's, as iteration 0, to an empty log)
    /// and reporting each to `on_iter`. Returns the final point and the optimiser's summary.
    pub fn run<const N: usize>(
        self,
        start: Tensor<N>,
        eval: &Eval<N>,
        log: &mut Vec<LossRow>,
        on_iter: &mut dyn FnMut(&Progress) -> Result<()>,
        after: &mut AfterStep,
    ) -> Result<(Tensor<N>, Summary)> {
        let (settings, level) = (self.settings, self.level);
        if log.is_empty() {
            // Iteration 0: the starting point, so the log shows where the run began.
            let (b, _) = eval(&start)?;
            log.push(row(0, &b, 0.0));
        }
        let mut opt = make_optimizer(settings)?;
        if let Some(bytes) = self.optimizer {
            opt.restore(OptimState::from_bytes(&bytes)?)?;
        }
        let recent = RefCell::new(VecDeque::<(Vec<f32>, Breakdown)>::new());
        let shape = (start.batch(), start.channels(), start.spatial());
        let mut f = |xs: &[f32], grad: &mut [f32]| -> Result<f32> {
            let t = Tensor::from_vec(shape.0, shape.1, shape.2, xs.to_vec())?;
            let (b, g) = eval(&t)?;
            grad.copy_from_slice(g.data());
            let mut r = recent.borrow_mut();
            if r.len() == 8 {
                r.pop_front();
            }
            let total = b.total as f32;
            r.push_back((xs.to_vec(), b));
            Ok(total)
        };
        let stop = Stop { max_iters: settings.iters, rel_tol: settings.rel_tol, start_iter: self.start_iter };
        let mut last = Instant::now();
        let base_iter = level * settings.iters;
        let mut data = start.into_vec();
        let mut on_step = |it: usize, _: &crate::optim::StepInfo, xs: &[f32], opt: &dyn Optimizer| {
            let r = recent.borrow();
            let b = r.iter().rev().find(|(p, _)| p.as_slice() == xs).map(|(_, b)| b.clone());
            let b = b.ok_or_else(|| Error::invalid("optimiser", "the accepted point was never evaluated"))?;
            let secs = last.elapsed().as_secs_f64();
            last = Instant::now();
            log.push(row(base_iter + it, &b, self.started.elapsed().as_secs_f64()));
            on_iter(&Progress {
                level,
                levels: settings.levels,
                iteration: it,
                iterations: settings.iters,
                row: log.last().expect("just pushed"),
                seconds_per_iter: secs,
            })?;
            after(it, xs, opt, log)
        };
        let summary = minimize(&mut data, &mut f, opt.as_mut(), &stop, &mut on_step)?;
        Ok((Tensor::from_vec(shape.0, shape.1, shape.2, data)?, summary))
    }
}

/// A log row from a breakdown of the objective: the style costs, then the temporal cost if any.
fn row(iteration: usize, b: &Breakdown, seconds: f64) -> LossRow {
    LossRow {
        iteration,
        total: b.total,
        content: b.content,
        style: b.style.iter().map(|(_, j)| *j).chain(b.temporal).collect(),
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
