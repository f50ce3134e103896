//! L-BFGS with a strong-Wolfe line search (or a fixed step), f64 dot products, resumable state.
//!
//! The iteration follows PyTorch's `torch.optim.LBFGS` (itself after Mark Schmidt's minFunc), one
//! iteration per [`Optimizer::step`](super::Optimizer::step):
//! - direction `d = -H g` by the two-loop recursion over the last `history` pairs `(s, y)`, with
//!   the initial inverse Hessian `γ I`, `γ = sᵀy / yᵀy` of the newest pair. The vectors are f32
//!   (the history is the memory cost: `2 · history · n` floats); every dot product and the
//!   recursion's working vector are f64, so long sums do not lose digits;
//! - first step (and after a reset) of length `min(1, 1/‖g‖₁) · lr`, later steps start at `lr`;
//! - [`LineSearch::StrongWolfe`] (default, PyTorch's `line_search_fn="strong_wolfe"`: bracketing
//!   then cubic-interpolation zoom, constants `c1`, `c2`) or [`LineSearch::Fixed`], which takes the
//!   step as is with one evaluation, like jcjohnson's neural-style (torch `optim.lbfgs` without a
//!   line search). Strong Wolfe guarantees `sᵀy > 0`, so the curvature pairs stay valid and the loss
//!   never goes up; it costs about 1-2 evaluations per iteration once the scale `γ` is learnt;
//! - a pair is stored only when `sᵀy > 1e-10`; a direction that is not a descent direction, or a
//!   line search that cannot decrease the loss, clears the history and retries steepest descent,
//!   and if that fails too the step reports convergence.
//!
//! Precision: the loss is an f32, and the line search compares losses, so progress ends once a
//! step's decrease is below the loss's rounding (about `6e-8 · |f|`); the step then reports
//! convergence. With a minimum value far from 0 this limits how far `x` is resolved (to about
//! `√(6e-8 · |f| / λ)` for curvature `λ`); it does not matter at style-transfer precision.
//!
//! Default `history = 10`: Nocedal & Wright recommend 3-20 and find little gain beyond. Torch's
//! `optim.lbfgs`, PyTorch and jcjohnson's neural-style use 100, but the history costs
//! `2 · history · n` floats in memory and in every checkpoint, and for a 3D volume
//! (n = 3 · 128³ ≈ 6.3 M) that is 5 GB at 100 against 0.5 GB at 10. Raise it where memory allows.

use std::collections::VecDeque;

use super::{dot, evaluate, norm, Halt, Objective, OptimState, Optimizer, Point, Reader, StepInfo, Writer};
use crate::{Error, Result};

/// How L-BFGS chooses the step length along its direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineSearch {
    /// Strong Wolfe conditions (sufficient decrease `c1`, curvature `c2`), cubic interpolation.
    StrongWolfe,
    /// No search: the step `lr` (first step `min(1, 1/‖g‖₁) · lr`) is taken with one evaluation.
    Fixed,
}

/// Options of [`Lbfgs`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LbfgsOptions {
    /// Number of curvature pairs kept (`m`); default 10 (see the module documentation).
    pub history: usize,
    /// Initial step length of the line search (the step itself with [`LineSearch::Fixed`]); default 1.
    pub lr: f64,
    /// Step-length rule; default [`LineSearch::StrongWolfe`].
    pub line_search: LineSearch,
    /// Sufficient-decrease constant of the Wolfe conditions; default 1e-4.
    pub c1: f64,
    /// Curvature constant of the strong Wolfe conditions; default 0.9.
    pub c2: f64,
    /// Line-search evaluations after the first trial (PyTorch's `max_ls`); default 25.
    pub max_line_evals: usize,
    /// The step reports convergence when `max |g_i| <= grad_tol`; default 1e-7 (0 still stops on
    /// an exactly zero gradient).
    pub grad_tol: f64,
    /// Smallest directional derivative `-gᵀd` and line-search bracket width `|Δt| · max|d_i|`
    /// worth pursuing; default 1e-9.
    pub change_tol: f64,
}

impl Default for LbfgsOptions {
    fn default() -> Self {
        LbfgsOptions {
            history: 10,
            lr: 1.0,
            line_search: LineSearch::StrongWolfe,
            c1: 1e-4,
            c2: 0.9,
            max_line_evals: 25,
            grad_tol: 1e-7,
            change_tol: 1e-9,
        }
    }
}

impl LbfgsOptions {
    /// Checks every option, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, detail: String| Err(Error::invalid(format!("L-BFGS option {what}"), detail));
        if self.history == 0 {
            return bad("history", "0: must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", format!("{}: must be finite and > 0", self.lr));
        }
        if !(self.c1 > 0.0 && self.c1 < self.c2 && self.c2 < 1.0) {
            return bad("c1/c2", format!("c1 = {}, c2 = {}: need 0 < c1 < c2 < 1", self.c1, self.c2));
        }
        if self.max_line_evals == 0 {
            return bad("max_line_evals", "0: must be at least 1".into());
        }
        if !(self.grad_tol.is_finite() && self.grad_tol >= 0.0) {
            return bad("grad_tol", format!("{}: must be finite and >= 0", self.grad_tol));
        }
        if !(self.change_tol.is_finite() && self.change_tol >= 0.0) {
            return bad("change_tol", format!("{}: must be finite and >= 0", self.change_tol));
        }
        Ok(())
    }
}

/// One curvature pair: step `s = x_{k+1} - x_k`, gradient change `y`, and `rho = 1 / yᵀs`.
#[derive(Clone, Debug, PartialEq)]
struct Pair {
    s: Vec<f32>,
    y: Vec<f32>,
    rho: f64,
}

/// Limited-memory BFGS. Plain data: cloning it (or [`Optimizer::state`]) captures everything.
#[derive(Clone, Debug, PartialEq)]
pub struct Lbfgs {
    opts: LbfgsOptions,
    /// Curvature pairs, oldest first.
    history: VecDeque<Pair>,
    /// Scale of the initial inverse Hessian, `sᵀy / yᵀy` of the newest pair.
    gamma: f64,
    /// Iterations taken (informational).
    iters: u64,
    /// Loss and gradient at the current point.
    point: Option<Point>,
}

impl Default for Lbfgs {
    fn default() -> Self {
        Lbfgs::new(LbfgsOptions::default()).expect("default options are valid")
    }
}

impl Lbfgs {
    /// An L-BFGS optimiser with no history yet; fails on invalid options.
    pub fn new(opts: LbfgsOptions) -> Result<Self> {
        opts.validate()?;
        Ok(Lbfgs { opts, history: VecDeque::new(), gamma: 1.0, iters: 0, point: None })
    }

    /// The options in use.
    pub fn options(&self) -> &LbfgsOptions {
        &self.opts
    }

    /// Number of curvature pairs currently stored.
    pub fn history_len(&self) -> usize {
        self.history.len()
    }

    /// Iterations taken since creation or the last reset.
    pub fn iterations(&self) -> u64 {
        self.iters
    }

    /// `-H g` by the two-loop recursion, in f64, returned as f32.
    fn direction(&self, g: &[f32]) -> Vec<f32> {
        let mut q: Vec<f64> = g.iter().map(|&v| -(v as f64)).collect();
        let mut alpha = vec![0.0f64; self.history.len()];
        for (i, p) in self.history.iter().enumerate().rev() {
            let a = p.rho * dot64(&p.s, &q);
            alpha[i] = a;
            for (qj, &yj) in q.iter_mut().zip(&p.y) {
                *qj -= a * yj as f64;
            }
        }
        for qj in &mut q {
            *qj *= self.gamma;
        }
        for (i, p) in self.history.iter().enumerate() {
            let b = p.rho * dot64(&p.y, &q);
            for (qj, &sj) in q.iter_mut().zip(&p.s) {
                *qj += (alpha[i] - b) * sj as f64;
            }
        }
        q.into_iter().map(|v| v as f32).collect()
    }

    /// Stores the pair from `(x_old, g_old)` to `(x_new, g_new)` if its curvature is positive.
    fn remember(&mut self, x_old: &[f32], g_old: &[f32], x_new: &[f32], g_new: &[f32]) {
        let diff = |out: &mut Vec<f32>, a: &[f32], b: &[f32]| {
            out.clear();
            out.extend(a.iter().zip(b).map(|(&u, &v)| (u as f64 - v as f64) as f32));
        };
        let mut pair = if self.history.len() == self.opts.history {
            self.history.pop_front().expect("history is full")
        } else {
            Pair { s: Vec::new(), y: Vec::new(), rho: 0.0 }
        };
        diff(&mut pair.s, x_new, x_old);
        diff(&mut pair.y, g_new, g_old);
        let ys = dot(&pair.y, &pair.s);
        let yy = dot(&pair.y, &pair.y);
        if ys > 1e-10 && yy > 0.0 {
            pair.rho = 1.0 / ys;
            self.gamma = ys / yy;
            self.history.push_back(pair);
        }
    }

    pub(super) fn write(&self, w: &mut Writer) {
        let o = &self.opts;
        w.u64(o.history as u64);
        w.f64(o.lr);
        w.u8(match o.line_search {
            LineSearch::StrongWolfe => 0,
            LineSearch::Fixed => 1,
        });
        w.f64(o.c1);
        w.f64(o.c2);
        w.u64(o.max_line_evals as u64);
        w.f64(o.grad_tol);
        w.f64(o.change_tol);
        w.u64(self.iters);
        w.f64(self.gamma);
        w.u64(self.history.len() as u64);
        for p in &self.history {
            w.f32s(&p.s);
            w.f32s(&p.y);
            w.f64(p.rho);
        }
        w.point(&self.point);
    }

    pub(super) fn read(r: &mut Reader) -> Result<Self> {
        let history = r.usize("history size")?;
        let lr = r.f64("lr")?;
        let line_search = match r.u8("line search")? {
            0 => LineSearch::StrongWolfe,
            1 => LineSearch::Fixed,
            v => return Err(Error::invalid("optimiser state", format!("unknown line search {v}"))),
        };
        let opts = LbfgsOptions {
            history,
            lr,
            line_search,
            c1: r.f64("c1")?,
            c2: r.f64("c2")?,
            max_line_evals: r.usize("max_line_evals")?,
            grad_tol: r.f64("grad_tol")?,
            change_tol: r.f64("change_tol")?,
        };
        opts.validate()?;
        let iters = r.u64("iteration count")?;
        let gamma = r.f64("gamma")?;
        let npairs = r.usize("pair count")?;
        if npairs > history {
            return Err(Error::invalid(
                "optimiser state",
                format!("{npairs} curvature pairs but history size {history}"),
            ));
        }
        let mut pairs = VecDeque::with_capacity(npairs);
        let mut n = None;
        for _ in 0..npairs {
            let s = r.f32s(n, "pair s")?;
            n = Some(s.len());
            let y = r.f32s(n, "pair y")?;
            let rho = r.f64("pair rho")?;
            pairs.push_back(Pair { s, y, rho });
        }
        let point = r.point(n)?;
        Ok(Lbfgs { opts, history: pairs, gamma, iters, point })
    }
}

/// Dot product of an f32 vector with an f64 vector, in f64.
fn dot64(a: &[f32], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(&u, &v)| u as f64 * v).sum()
}

/// `x + t d`, in f64, rounded to f32. Deterministic, so a trial point can be rebuilt bit for bit.
fn trial_point(x: &[f32], t: f64, d: &[f32], out: &mut [f32]) {
    for ((o, &xi), &di) in out.iter_mut().zip(x).zip(d) {
        *o = (xi as f64 + t * di as f64) as f32;
    }
}

/// A point on the search line: step `t`, loss, gradient, directional derivative `gᵀd`.
#[derive(Clone)]
struct Trial {
    t: f64,
    f: f64,
    g: Vec<f32>,
    gtd: f64,
}

/// Evaluates the objective along `x + t d`, counting evaluations.
struct Line<'a> {
    x: &'a [f32],
    d: &'a [f32],
    xt: Vec<f32>,
    f: &'a mut dyn Objective,
    evals: usize,
}

impl Line<'_> {
    fn at(&mut self, t: f64) -> Result<Trial> {
        trial_point(self.x, t, self.d, &mut self.xt);
        let mut g = vec![0.0; self.x.len()];
        let f = evaluate(self.f, &self.xt, &mut g)? as f64;
        self.evals += 1;
        let gtd = dot(&g, self.d);
        Ok(Trial { t, f, g, gtd })
    }
}

/// Minimiser of the cubic through `(x1, f1, g1)` and `(x2, f2, g2)`, clamped to `bounds` (default:
/// the interval between the two points); the midpoint when the cubic has no real minimiser.
fn cubic_interpolate(
    x1: f64,
    f1: f64,
    g1: f64,
    x2: f64,
    f2: f64,
    g2: f64,
    bounds: Option<(f64, f64)>,
) -> f64 {
    let (lo, hi) = bounds.unwrap_or(if x1 <= x2 { (x1, x2) } else { (x2, x1) });
    let d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2);
    let d2_sq = d1 * d1 - g1 * g2;
    if d2_sq >= 0.0 {
        let d2 = d2_sq.sqrt();
        let t = if x1 <= x2 {
            x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
        } else {
            x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2))
        };
        if t.is_finite() {
            return t.max(lo).min(hi);
        }
    }
    (lo + hi) / 2.0
}

/// Strong-Wolfe line search from `start` (t = 0) along the line, first trial at `t`.
/// A port of PyTorch's `_strong_wolfe`; returns the best point found, possibly `start` itself.
fn strong_wolfe(line: &mut Line, start: Trial, t: f64, opts: &LbfgsOptions) -> Result<Trial> {
    let (c1, c2, max_ls) = (opts.c1, opts.c2, opts.max_line_evals);
    let (f0, gtd0) = (start.f, start.gtd);
    let d_norm = line.d.iter().fold(0.0f64, |m, &v| m.max((v as f64).abs()));
    let armijo = |tr: &Trial| tr.f > f0 + c1 * tr.t * gtd0;

    // Bracketing phase: find an interval containing a point that satisfies the conditions.
    let mut prev = start.clone();
    let mut new = line.at(t)?;
    let mut ls_iter = 0;
    let (mut bracket, mut done) = loop {
        if ls_iter >= max_ls {
            break (vec![start, new], false);
        }
        if armijo(&new) || (ls_iter > 1 && new.f >= prev.f) {
            break (vec![prev, new], false);
        }
        if new.gtd.abs() <= -c2 * gtd0 {
            break (vec![new], true);
        }
        if new.gtd >= 0.0 {
            break (vec![prev, new], false);
        }
        let min_step = new.t + 0.01 * (new.t - prev.t);
        let max_step = new.t * 10.0;
        let t_next =
            cubic_interpolate(prev.t, prev.f, prev.gtd, new.t, new.f, new.gtd, Some((min_step, max_step)));
        prev = std::mem::replace(&mut new, line.at(t_next)?);
        ls_iter += 1;
    };

    // Zoom phase: shrink the bracket until a point satisfies the strong Wolfe conditions.
    let order = |b: &[Trial]| if b.len() < 2 || b[0].f <= b[1].f { (0, 1) } else { (1, 0) };
    let (mut lo, mut hi) = order(&bracket);
    let mut insufficient = false;
    while !done && ls_iter < max_ls {
        let (a, b) = (&bracket[0], &bracket[1]);
        if (b.t - a.t).abs() * d_norm < opts.change_tol {
            break;
        }
        let mut t = cubic_interpolate(a.t, a.f, a.gtd, b.t, b.f, b.gtd, None);
        let (bmin, bmax) = (a.t.min(b.t), a.t.max(b.t));
        let eps = 0.1 * (bmax - bmin);
        if (bmax - t).min(t - bmin) < eps {
            // Too close to an end of the bracket: move 10% inside unless this is the first time.
            if insufficient || t >= bmax || t <= bmin {
                t = if (t - bmax).abs() < (t - bmin).abs() { bmax - eps } else { bmin + eps };
                insufficient = false;
            } else {
                insufficient = true;
            }
        } else {
            insufficient = false;
        }
        let new = line.at(t)?;
        ls_iter += 1;
        if armijo(&new) || new.f >= bracket[lo].f {
            bracket[hi] = new;
            (lo, hi) = order(&bracket);
        } else {
            if new.gtd.abs() <= -c2 * gtd0 {
                done = true;
            } else if new.gtd * (bracket[hi].t - bracket[lo].t) >= 0.0 {
                // The old low end becomes the high end.
                bracket.swap(lo, hi);
            }
            bracket[lo] = new;
        }
    }
    Ok(bracket.swap_remove(lo))
}

impl Optimizer for Lbfgs {
    fn name(&self) -> &'static str {
        "lbfgs"
    }

    fn step(&mut self, x: &mut [f32], f: &mut dyn Objective) -> Result<StepInfo> {
        if let Some(p) = self.history.front() {
            if p.s.len() != x.len() {
                return Err(Error::shape(
                    "lbfgs step",
                    format!("x has {} entries but the optimiser's history has {}", x.len(), p.s.len()),
                ));
            }
        }
        let mut evals = Point::ensure(&mut self.point, f, x)?;
        let start = self.point.take().expect("ensured");
        let gmax = start.grad.iter().fold(0.0f64, |m, &v| m.max((v as f64).abs()));
        let converged = |start: Point, evals: usize, me: &mut Lbfgs, halt: Halt| {
            let info = StepInfo {
                loss: start.loss,
                prev_loss: start.loss,
                evals,
                grad_norm: norm(&start.grad) as f32,
                converged: Some(halt),
            };
            me.point = Some(start);
            Ok(info)
        };
        if gmax <= self.opts.grad_tol {
            return converged(start, evals, self, Halt::ZeroGradient);
        }
        // At most two attempts: the quasi-Newton direction, then steepest descent from scratch.
        loop {
            let d = self.direction(&start.grad);
            let gtd = dot(&start.grad, &d);
            if gtd > -self.opts.change_tol {
                if self.history.is_empty() {
                    return converged(start, evals, self, Halt::NoDecrease);
                }
                self.history.clear();
                self.gamma = 1.0;
                continue;
            }
            let t0 = if self.history.is_empty() {
                let g1: f64 = start.grad.iter().map(|&v| (v as f64).abs()).sum();
                (1.0f64).min(1.0 / g1) * self.opts.lr
            } else {
                self.opts.lr
            };
            let mut line = Line { x: &start.x, d: &d, xt: vec![0.0; x.len()], f: &mut *f, evals: 0 };
            let best = match self.opts.line_search {
                LineSearch::Fixed => line.at(t0)?,
                LineSearch::StrongWolfe => {
                    let s = Trial { t: 0.0, f: start.loss as f64, g: start.grad.clone(), gtd };
                    strong_wolfe(&mut line, s, t0, &self.opts)?
                }
            };
            evals += line.evals;
            if best.t == 0.0 {
                if self.history.is_empty() {
                    return converged(start, evals, self, Halt::NoDecrease);
                }
                self.history.clear();
                self.gamma = 1.0;
                continue;
            }
            let mut x_new = vec![0.0; x.len()];
            trial_point(&start.x, best.t, &d, &mut x_new);
            self.remember(&start.x, &start.grad, &x_new, &best.g);
            self.iters += 1;
            x.copy_from_slice(&x_new);
            let info = StepInfo {
                loss: best.f as f32,
                prev_loss: start.loss,
                evals,
                grad_norm: norm(&best.g) as f32,
                converged: None,
            };
            self.point = Some(Point { x: x_new, loss: best.f as f32, grad: best.g });
            return Ok(info);
        }
    }

    fn state(&self) -> OptimState {
        OptimState::Lbfgs(self.clone())
    }

    fn restore(&mut self, state: OptimState) -> Result<()> {
        match state {
            OptimState::Lbfgs(s) => {
                *self = s;
                Ok(())
            }
            other => Err(Error::invalid(
                "optimiser state",
                format!("cannot restore an L-BFGS optimiser from {} state", other.name()),
            )),
        }
    }

    fn reset(&mut self) {
        self.history.clear();
        self.gamma = 1.0;
        self.iters = 0;
        self.point = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cubic_finds_the_minimum_of_a_parabola() {
        // f(t) = (t - 2)^2: f(0) = 4, f'(0) = -4; f(3) = 1, f'(3) = 2.
        let t = cubic_interpolate(0.0, 4.0, -4.0, 3.0, 1.0, 2.0, None);
        assert!((t - 2.0).abs() < 1e-12, "{t}");
        // Bounds clamp.
        let t = cubic_interpolate(0.0, 4.0, -4.0, 3.0, 1.0, 2.0, Some((0.0, 1.5)));
        assert_eq!(t, 1.5);
    }

    #[test]
    fn two_loop_with_no_history_is_steepest_descent() {
        let o = Lbfgs::default();
        assert_eq!(o.direction(&[1.0, -2.0, 0.5]), vec![-1.0, 2.0, -0.5]);
    }

    #[test]
    fn history_is_bounded() {
        let mut o = Lbfgs::new(LbfgsOptions { history: 2, ..Default::default() }).unwrap();
        for k in 1..=5 {
            let k = k as f32;
            o.remember(&[0.0, 0.0], &[0.0, 0.0], &[k, 1.0], &[2.0 * k, 1.0]);
        }
        assert_eq!(o.history_len(), 2);
        assert_eq!(o.history.back().unwrap().s, vec![5.0, 1.0]);
    }

    #[test]
    fn invalid_options_are_rejected() {
        assert!(Lbfgs::new(LbfgsOptions { history: 0, ..Default::default() }).is_err());
        assert!(Lbfgs::new(LbfgsOptions { lr: f64::NAN, ..Default::default() }).is_err());
        let e = Lbfgs::new(LbfgsOptions { c1: 0.95, ..Default::default() }).unwrap_err();
        assert!(e.to_string().contains("c1"), "{e}");
    }
}
