//! Adam (Kingma & Ba 2015) with bias correction and a resumable state.
//!
//! Per step, with the gradient `g` at the current `x` and step count `t` (from 1):
//! `m ← β₁ m + (1-β₁) g`, `v ← β₂ v + (1-β₂) g²`, `x ← x - lr · (m / (1-β₁ᵗ)) / (√(v / (1-β₂ᵗ)) + ε)`.
//! The element-wise update is f32 (the bias corrections are computed in f64, then rounded).
//! After the update the objective is evaluated at the new `x`, so that [`StepInfo::loss`] is the
//! loss at the new point like L-BFGS's; that gradient is cached and drives the next step, so a run
//! of `k` steps costs `k + 1` evaluations.

use super::{norm, Halt, Objective, OptimState, Optimizer, Point, Reader, StepInfo, Writer};
use crate::{Error, Result};

/// Options of [`Adam`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamOptions {
    /// Step size; default 1e-3 (Kingma & Ba). Style transfer on 0..255 pixel values uses far larger
    /// steps (jcjohnson's neural-style: 10).
    pub lr: f32,
    /// Decay of the first-moment average; default 0.9.
    pub beta1: f32,
    /// Decay of the second-moment average; default 0.999.
    pub beta2: f32,
    /// Added to `√v̂` to avoid division by zero; default 1e-8.
    pub eps: f32,
}

impl Default for AdamOptions {
    fn default() -> Self {
        AdamOptions { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 }
    }
}

impl AdamOptions {
    /// Checks every option, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, detail: String| Err(Error::invalid(format!("Adam option {what}"), detail));
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", format!("{}: must be finite and > 0", self.lr));
        }
        for (name, b) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&b) {
                return bad(name, format!("{b}: must be in [0, 1)"));
            }
        }
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return bad("eps", format!("{}: must be finite and > 0", self.eps));
        }
        Ok(())
    }
}

/// The Adam optimiser. Plain data: cloning it (or [`Optimizer::state`]) captures everything.
#[derive(Clone, Debug, PartialEq)]
pub struct Adam {
    opts: AdamOptions,
    /// Steps taken (`t` of the bias correction).
    t: u64,
    /// First-moment average (empty before the first step).
    m: Vec<f32>,
    /// Second-moment average (empty before the first step).
    v: Vec<f32>,
    /// Loss and gradient at the current point.
    point: Option<Point>,
}

impl Default for Adam {
    fn default() -> Self {
        Adam::new(AdamOptions::default()).expect("default options are valid")
    }
}

impl Adam {
    /// An Adam optimiser with zero moments; fails on invalid options.
    pub fn new(opts: AdamOptions) -> Result<Self> {
        opts.validate()?;
        Ok(Adam { opts, t: 0, m: Vec::new(), v: Vec::new(), point: None })
    }

    /// The options in use.
    pub fn options(&self) -> &AdamOptions {
        &self.opts
    }

    /// Steps taken since creation or the last reset.
    pub fn iterations(&self) -> u64 {
        self.t
    }

    pub(super) fn write(&self, w: &mut Writer) {
        let o = &self.opts;
        w.f32(o.lr);
        w.f32(o.beta1);
        w.f32(o.beta2);
        w.f32(o.eps);
        w.u64(self.t);
        w.f32s(&self.m);
        w.f32s(&self.v);
        w.point(&self.point);
    }

    pub(super) fn read(r: &mut Reader) -> Result<Self> {
        let opts = AdamOptions {
            lr: r.f32("lr")?,
            beta1: r.f32("beta1")?,
            beta2: r.f32("beta2")?,
            eps: r.f32("eps")?,
        };
        opts.validate()?;
        let t = r.u64("step count")?;
        let m = r.f32s(None, "first moment")?;
        let v = r.f32s(Some(m.len()), "second moment")?;
        let n = if m.is_empty() { None } else { Some(m.len()) };
        let point = r.point(n)?;
        Ok(Adam { opts, t, m, v, point })
    }
}

impl Optimizer for Adam {
    fn name(&self) -> &'static str {
        "adam"
    }

    fn step(&mut self, x: &mut [f32], f: &mut dyn Objective) -> Result<StepInfo> {
        let n = x.len();
        if self.m.is_empty() {
            self.m = vec![0.0; n];
            self.v = vec![0.0; n];
        } else if self.m.len() != n {
            return Err(Error::shape(
                "adam step",
                format!("x has {n} entries but the optimiser's moments have {}", self.m.len()),
            ));
        }
        let mut evals = Point::ensure(&mut self.point, f, x)?;
        let start = self.point.take().expect("ensured");
        if start.grad.iter().all(|&g| g == 0.0) {
            let info = StepInfo {
                loss: start.loss,
                prev_loss: start.loss,
                evals,
                grad_norm: 0.0,
                converged: Some(Halt::ZeroGradient),
            };
            self.point = Some(start);
            return Ok(info);
        }
        self.t += 1;
        let o = self.opts;
        let exponent = i32::try_from(self.t).unwrap_or(i32::MAX);
        let bc1 = (1.0 - (o.beta1 as f64).powi(exponent)) as f32;
        let bc2 = (1.0 - (o.beta2 as f64).powi(exponent)) as f32;
        for (((xi, mi), vi), &g) in x.iter_mut().zip(&mut self.m).zip(&mut self.v).zip(&start.grad) {
            *mi = o.beta1 * *mi + (1.0 - o.beta1) * g;
            *vi = o.beta2 * *vi + (1.0 - o.beta2) * g * g;
            let m_hat = *mi / bc1;
            let v_hat = *vi / bc2;
            *xi -= o.lr * m_hat / (v_hat.sqrt() + o.eps);
        }
        let new = Point::eval(f, x)?;
        evals += 1;
        let info = StepInfo {
            loss: new.loss,
            prev_loss: start.loss,
            evals,
            grad_norm: norm(&new.grad) as f32,
            converged: None,
        };
        self.point = Some(new);
        Ok(info)
    }

    fn state(&self) -> OptimState {
        OptimState::Adam(self.clone())
    }

    fn restore(&mut self, state: OptimState) -> Result<()> {
        match state {
            OptimState::Adam(s) => {
                *self = s;
                Ok(())
            }
            other => Err(Error::invalid(
                "optimiser state",
                format!("cannot restore an Adam optimiser from {} state", other.name()),
            )),
        }
    }

    fn reset(&mut self) {
        self.t = 0;
        self.m.clear();
        self.v.clear();
        self.point = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_each_coordinate_by_lr() {
        // With bias correction the first step is lr · g / (|g| + eps) ≈ lr · sign(g).
        let mut opt = Adam::new(AdamOptions { lr: 0.1, ..Default::default() }).unwrap();
        let mut f = |x: &[f32], g: &mut [f32]| -> Result<f32> {
            g[0] = 2.0 * x[0];
            g[1] = -3.0;
            Ok(x[0] * x[0] - 3.0 * x[1])
        };
        let mut x = [1.0f32, 0.0];
        let info = opt.step(&mut x, &mut f).unwrap();
        assert!((x[0] - 0.9).abs() < 1e-6 && (x[1] - 0.1).abs() < 1e-6, "{x:?}");
        assert_eq!(info.evals, 2);
        assert_eq!(info.prev_loss, 1.0);
        let info = opt.step(&mut x, &mut f).unwrap();
        assert_eq!(info.evals, 1);
    }

    #[test]
    fn invalid_options_are_rejected() {
        assert!(Adam::new(AdamOptions { beta1: 1.0, ..Default::default() }).is_err());
        assert!(Adam::new(AdamOptions { lr: -1.0, ..Default::default() }).is_err());
        assert!(Adam::new(AdamOptions { eps: 0.0, ..Default::default() }).is_err());
    }
}
