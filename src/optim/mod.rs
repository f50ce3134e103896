//! Optimisers (L-BFGS, Adam) that minimise a closure returning (loss, gradient), with resumable state.
//!
//! Style transfer minimises a loss over the *input*: the optimiser sees a flat `&mut [f32]` and an
//! [`Objective`] that fills a gradient and returns the loss. Nothing here knows about networks.
//!
//! # Why not `argmin`
//!
//! The optimisers are written here, dependency-free, for two reasons:
//! - a long run is checkpointed and must resume **bit-identically**: every iterate after a resume
//!   must equal the iterate of the uninterrupted run. That needs the complete optimiser state
//!   (L-BFGS history, curvature scale, cached loss and gradient; Adam moments and step count) as
//!   plain data with a stable byte format ([`OptimState::to_bytes`] / [`OptimState::from_bytes`]);
//!   argmin's solver state is not serialisable in that form without pulling in serde and its
//!   internal layout, which is not a stable format;
//! - `argmin-math` supports ndarray only up to 0.16, while the crates this project reads and
//!   writes data with use ndarray 0.17 (see the shared dependency notes).
//!
//! # Conventions
//!
//! - One [`Optimizer::step`] is one iteration. The optimiser caches the loss and gradient at its
//!   current point (keyed by the exact bits of `x`), so the objective is evaluated once per
//!   iteration (plus line-search trials), and [`StepInfo::loss`] is always the loss **at the new
//!   `x`**, with [`StepInfo::prev_loss`] the loss at the `x` the step started from.
//! - If the caller changes `x` between steps, the cache misses and the objective is re-evaluated.
//! - A non-finite loss or gradient entry from the objective is an [`Error`], never a panic.
//! - A zero gradient, or a line search that cannot decrease the loss, ends the run with that
//!   reason ([`Halt`]), which [`Summary::reason`] reports.
//!
//! The driver [`minimize`] runs steps until [`Stop`] says so and hands every iteration to a
//! callback, where callers print progress and write checkpoints (`opt.state().to_bytes()`).

mod adam;
mod lbfgs;

pub use adam::{Adam, AdamOptions};
pub use lbfgs::{Lbfgs, LbfgsOptions, LineSearch};

use crate::{Error, Result};

/// A function to minimise: writes the gradient at `x` into `grad` and returns the loss.
///
/// `grad` has the length of `x` and is zero-filled on entry, so an objective made of several
/// terms may accumulate into it. A non-finite loss or gradient makes the optimisers fail.
pub trait Objective {
    /// Loss at `x`; the gradient at `x` goes into `grad`.
    fn eval(&mut self, x: &[f32], grad: &mut [f32]) -> Result<f32>;
}

impl<F> Objective for F
where
    F: FnMut(&[f32], &mut [f32]) -> Result<f32>,
{
    fn eval(&mut self, x: &[f32], grad: &mut [f32]) -> Result<f32> {
        self(x, grad)
    }
}

/// What one optimiser step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepInfo {
    /// Loss at `x` after the step (the point the step moved to).
    pub loss: f32,
    /// Loss at `x` before the step.
    pub prev_loss: f32,
    /// Objective evaluations this step used (line-search trials included, and the evaluation at
    /// the starting point when it was not cached).
    pub evals: usize,
    /// Euclidean norm of the gradient at `x` after the step.
    pub grad_norm: f32,
    /// The optimiser found nothing left to do, and why; `x` was left unchanged.
    pub converged: Option<Halt>,
}

/// Why an optimiser step could not move `x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Halt {
    /// The gradient is zero (below the gradient tolerance).
    ZeroGradient,
    /// Neither the quasi-Newton direction nor steepest descent gave a step that lowers the loss
    /// (the line search failed: the loss is flat or noisy at float precision along the gradient).
    NoDecrease,
}

/// An iterative minimiser with a plain, serialisable state.
pub trait Optimizer {
    /// A short name for logs: `"lbfgs"` or `"adam"`.
    fn name(&self) -> &'static str;
    /// One iteration: moves `x` towards a minimum of `f`.
    fn step(&mut self, x: &mut [f32], f: &mut dyn Objective) -> Result<StepInfo>;
    /// A copy of the full state (options included), enough to resume bit-identically.
    fn state(&self) -> OptimState;
    /// Replaces the whole state, options included, by `state`; fails if `state` belongs to
    /// another kind of optimiser.
    fn restore(&mut self, state: OptimState) -> Result<()>;
    /// Forgets everything learnt so far (history, moments, cached point), keeping the options.
    fn reset(&mut self);
}

/// The state of an optimiser: the optimiser itself, which is plain data.
#[derive(Clone, Debug)]
pub enum OptimState {
    /// State of an [`Lbfgs`].
    Lbfgs(Lbfgs),
    /// State of an [`Adam`].
    Adam(Adam),
}

/// When [`minimize`] stops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stop {
    /// Total number of iterations of the run, counting those done before `start_iter`.
    pub max_iters: usize,
    /// Stop when `|f_prev - f| / max(|f_prev|, tiny) < rel_tol` after an iteration.
    pub rel_tol: Option<f32>,
    /// Iterations already done (non-zero when resuming from a checkpoint).
    pub start_iter: usize,
}

impl Stop {
    /// Run `max_iters` iterations from iteration 0, without a relative-tolerance stop.
    pub fn iters(max_iters: usize) -> Self {
        Stop { max_iters, rel_tol: None, start_iter: 0 }
    }
    /// The same, also stopping when the relative loss change falls below `rel_tol`.
    pub fn with_rel_tol(self, rel_tol: f32) -> Self {
        Stop { rel_tol: Some(rel_tol), ..self }
    }
    /// The same, resuming after `start_iter` completed iterations.
    pub fn starting_at(self, start_iter: usize) -> Self {
        Stop { start_iter, ..self }
    }
}

/// Why [`minimize`] stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// `max_iters` iterations were done.
    MaxIters,
    /// The relative loss change fell below `rel_tol`.
    RelTol,
    /// The optimiser could not move (zero gradient or no possible decrease).
    Halted(Halt),
}

impl StopReason {
    /// A short explanation for logs and metrics.
    pub fn describe(self) -> &'static str {
        match self {
            StopReason::MaxIters => "the iteration limit was reached",
            StopReason::RelTol => "the relative loss change fell below rel_tol",
            StopReason::Halted(Halt::ZeroGradient) => "the gradient is zero",
            StopReason::Halted(Halt::NoDecrease) => {
                "the line search found no step that lowers the loss (converged to float precision, or the loss scale is out of range)"
            }
        }
    }

    /// A stable one-word name, as written in metrics.
    pub fn name(self) -> &'static str {
        match self {
            StopReason::MaxIters => "max_iters",
            StopReason::RelTol => "rel_tol",
            StopReason::Halted(Halt::ZeroGradient) => "zero_gradient",
            StopReason::Halted(Halt::NoDecrease) => "line_search_failed",
        }
    }
}

/// The outcome of [`minimize`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Iterations completed in total, counting `start_iter`.
    pub iters: usize,
    /// Objective evaluations made by this call.
    pub evals: usize,
    /// Loss at the final `x`; `None` if no step was taken (`start_iter >= max_iters`).
    pub loss: Option<f32>,
    /// Why the run stopped.
    pub reason: StopReason,
}

/// Relative change below which [`Stop::rel_tol`] ends a run; `tiny` keeps a zero loss well-defined.
fn rel_change(prev: f32, cur: f32) -> f64 {
    let tiny = f32::MIN_POSITIVE as f64;
    (prev as f64 - cur as f64).abs() / (prev as f64).abs().max(tiny)
}

/// Called by [`minimize`] after each iteration with its number, what the step did, the new point
/// and the optimiser.
pub type IterHook<'a> = dyn FnMut(usize, &StepInfo, &[f32], &dyn Optimizer) -> Result<()> + 'a;

/// Minimises `f` from `x` with `opt` until `stop` says so.
///
/// Iterations are numbered from `stop.start_iter + 1` to `stop.max_iters`; after each one,
/// `on_iter(iteration, &info, x, opt)` is called with the new point and the optimiser (print
/// progress, write checkpoints from `opt.state()` there; an error from it
/// ends the run with that error). The relative-tolerance test runs after the callback, so the last
/// iteration is always reported. A step that reports convergence leaves `x` unchanged and is not
/// counted as an iteration.
pub fn minimize(
    x: &mut [f32],
    f: &mut dyn Objective,
    opt: &mut dyn Optimizer,
    stop: &Stop,
    on_iter: &mut IterHook,
) -> Result<Summary> {
    if let Some(tol) = stop.rel_tol {
        if !(tol.is_finite() && tol >= 0.0) {
            return Err(Error::invalid("rel_tol", format!("{tol}: must be finite and >= 0")));
        }
    }
    let mut iter = stop.start_iter;
    let mut evals = 0;
    let mut loss = None;
    let mut reason = StopReason::MaxIters;
    while iter < stop.max_iters {
        let info = opt.step(x, f)?;
        evals += info.evals;
        loss = Some(info.loss);
        if let Some(halt) = info.converged {
            reason = StopReason::Halted(halt);
            break;
        }
        iter += 1;
        on_iter(iter, &info, x, opt)?;
        if let Some(tol) = stop.rel_tol {
            if rel_change(info.prev_loss, info.loss) < tol as f64 {
                reason = StopReason::RelTol;
                break;
            }
        }
    }
    Ok(Summary { iters: iter, evals, loss, reason })
}

// ---------------------------------------------------------------------------------------------
// Shared numerics.

/// Dot product accumulated in f64 (the vectors are f32; long sums in f32 lose digits).
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&u, &v)| u as f64 * v as f64).sum()
}

/// Euclidean norm accumulated in f64.
pub(crate) fn norm(a: &[f32]) -> f64 {
    dot(a, a).sqrt()
}

/// Evaluates `f` at `x` into a zeroed `grad`, failing clearly on a non-finite loss or gradient.
pub(crate) fn evaluate(f: &mut dyn Objective, x: &[f32], grad: &mut [f32]) -> Result<f32> {
    grad.fill(0.0);
    let loss = f.eval(x, grad)?;
    if !loss.is_finite() {
        return Err(Error::invalid("objective", format!("returned a non-finite loss ({loss})")));
    }
    if let Some(i) = grad.iter().position(|g| !g.is_finite()) {
        return Err(Error::invalid(
            "objective",
            format!("returned a non-finite gradient: entry {i} of {} is {}", grad.len(), grad[i]),
        ));
    }
    Ok(loss)
}

/// The loss and gradient at a point, cached so that each iteration evaluates the objective once.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Point {
    pub x: Vec<f32>,
    pub loss: f32,
    pub grad: Vec<f32>,
}

impl Point {
    /// Whether this point is exactly `x` (bit for bit).
    pub fn is_at(&self, x: &[f32]) -> bool {
        self.x.len() == x.len() && self.x.iter().zip(x).all(|(a, b)| a.to_bits() == b.to_bits())
    }

    /// Evaluates `f` at `x`, checking `x` first.
    pub fn eval(f: &mut dyn Objective, x: &[f32]) -> Result<Point> {
        if x.is_empty() {
            return Err(Error::invalid("optimisation variable", "x is empty"));
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid("optimisation variable", format!("x[{i}] is {} (not finite)", x[i])));
        }
        let mut grad = vec![0.0; x.len()];
        let loss = evaluate(f, x, &mut grad)?;
        Ok(Point { x: x.to_vec(), loss, grad })
    }

    /// Makes `cache` hold the point at `x`, evaluating only on a miss; returns the evaluations.
    pub fn ensure(cache: &mut Option<Point>, f: &mut dyn Objective, x: &[f32]) -> Result<usize> {
        match cache {
            Some(p) if p.is_at(x) => Ok(0),
            _ => {
                *cache = Some(Point::eval(f, x)?);
                Ok(1)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// State serialisation: a small versioned little-endian format.
//
//   magic  b"NDSOPTIM"            8 bytes
//   version u32                   (currently 1)
//   kind    u8                    1 = L-BFGS, 2 = Adam
//   payload                       per kind, see `Lbfgs::write` / `Adam::write`
//   checksum u64                  FNV-1a 64 of every byte before it
//
// Scalars are little-endian; a vector is a u64 length followed by its f32 values.

const MAGIC: &[u8; 8] = b"NDSOPTIM";
const VERSION: u32 = 1;
const KIND_LBFGS: u8 = 1;
const KIND_ADAM: u8 = 2;
const HEADER: usize = 8 + 4 + 1;

fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

fn state_err(detail: impl Into<String>) -> Error {
    Error::invalid("optimiser state", detail)
}

impl OptimState {
    /// The state as bytes (see the format above); [`OptimState::from_bytes`] reads it back exactly.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer(Vec::new());
        w.0.extend_from_slice(MAGIC);
        w.u32(VERSION);
        match self {
            OptimState::Lbfgs(o) => {
                w.u8(KIND_LBFGS);
                o.write(&mut w);
            }
            OptimState::Adam(o) => {
                w.u8(KIND_ADAM);
                o.write(&mut w);
            }
        }
        let sum = fnv1a64(&w.0);
        w.u64(sum);
        w.0
    }

    /// Reads a state written by [`OptimState::to_bytes`]; truncated, corrupted or foreign bytes
    /// give an error saying which.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(state_err("not an ndstyle optimiser state (bad magic bytes)"));
        }
        if bytes.len() < HEADER + 8 {
            return Err(state_err(format!(
                "truncated: {} bytes, header alone needs {}",
                bytes.len(),
                HEADER + 8
            )));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(state_err(format!(
                "format version {version} is not supported (this build reads {VERSION})"
            )));
        }
        let (body, tail) = bytes.split_at(bytes.len() - 8);
        let stored = u64::from_le_bytes(tail.try_into().expect("8 bytes"));
        if fnv1a64(body) != stored {
            return Err(state_err("checksum mismatch: the bytes are truncated or corrupted"));
        }
        let mut r = Reader { buf: body, pos: HEADER - 1 };
        let state = match r.u8("kind")? {
            KIND_LBFGS => OptimState::Lbfgs(Lbfgs::read(&mut r)?),
            KIND_ADAM => OptimState::Adam(Adam::read(&mut r)?),
            k => return Err(state_err(format!("unknown optimiser kind {k}"))),
        };
        if r.pos != body.len() {
            return Err(state_err(format!("{} unexpected bytes after the state", body.len() - r.pos)));
        }
        Ok(state)
    }

    /// The optimiser this state describes, ready to continue.
    pub fn into_optimizer(self) -> Box<dyn Optimizer> {
        match self {
            OptimState::Lbfgs(o) => Box::new(o),
            OptimState::Adam(o) => Box::new(o),
        }
    }

    /// `"lbfgs"` or `"adam"`.
    pub fn name(&self) -> &'static str {
        match self {
            OptimState::Lbfgs(_) => "lbfgs",
            OptimState::Adam(_) => "adam",
        }
    }
}

pub(crate) struct Writer(pub Vec<u8>);

impl Writer {
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn f32(&mut self, v: f32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn f32s(&mut self, v: &[f32]) {
        self.u64(v.len() as u64);
        for x in v {
            self.f32(*x);
        }
    }
    pub fn point(&mut self, p: &Option<Point>) {
        match p {
            None => self.u8(0),
            Some(p) => {
                self.u8(1);
                self.f32(p.loss);
                self.f32s(&p.x);
                self.f32s(&p.grad);
            }
        }
    }
}

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize, what: &str) -> Result<&[u8]> {
        if self.buf.len() - self.pos < n {
            return Err(state_err(format!("truncated while reading {what} at byte {}", self.pos)));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }
    pub fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().expect("8 bytes")))
    }
    pub fn usize(&mut self, what: &str) -> Result<usize> {
        let v = self.u64(what)?;
        usize::try_from(v).map_err(|_| state_err(format!("{what} = {v} does not fit this machine")))
    }
    pub fn f32(&mut self, what: &str) -> Result<f32> {
        Ok(f32::from_le_bytes(self.take(4, what)?.try_into().expect("4 bytes")))
    }
    pub fn f64(&mut self, what: &str) -> Result<f64> {
        Ok(f64::from_le_bytes(self.take(8, what)?.try_into().expect("8 bytes")))
    }
    /// A vector that must have length `n` (`None`: any length).
    pub fn f32s(&mut self, n: Option<usize>, what: &str) -> Result<Vec<f32>> {
        let len = self.usize(what)?;
        if let Some(n) = n {
            if len != n {
                return Err(state_err(format!("{what} has length {len}, expected {n}")));
            }
        }
        let bytes = self.take(
            len.checked_mul(4).ok_or_else(|| state_err(format!("{what}: length {len} overflows")))?,
            what,
        )?;
        Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect())
    }
    pub fn bool(&mut self, what: &str) -> Result<bool> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(state_err(format!("{what}: flag byte {v} is neither 0 nor 1"))),
        }
    }
    /// A cached point whose vectors must have length `n` when `n` is known; returns its length.
    pub fn point(&mut self, n: Option<usize>) -> Result<Option<Point>> {
        if !self.bool("cached-point flag")? {
            return Ok(None);
        }
        let loss = self.f32("cached loss")?;
        let x = self.f32s(n, "cached x")?;
        let grad = self.f32s(Some(x.len()), "cached gradient")?;
        Ok(Some(Point { x, loss, grad }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn rel_change_handles_zero() {
        assert_eq!(rel_change(0.0, 0.0), 0.0);
        assert!(rel_change(0.0, 1.0) > 1e30);
        assert!((rel_change(2.0, 1.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn evaluate_rejects_non_finite() {
        let mut nan_loss = |_: &[f32], _: &mut [f32]| -> Result<f32> { Ok(f32::NAN) };
        let err = evaluate(&mut nan_loss, &[1.0], &mut [0.0]).unwrap_err().to_string();
        assert!(err.contains("NaN"), "{err}");
        let mut inf_grad = |_: &[f32], g: &mut [f32]| -> Result<f32> {
            g[1] = f32::INFINITY;
            Ok(0.0)
        };
        let err = evaluate(&mut inf_grad, &[1.0, 2.0], &mut [0.0, 0.0]).unwrap_err().to_string();
        assert!(err.contains("entry 1") && err.contains("inf"), "{err}");
    }
}
