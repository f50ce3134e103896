//! Content, style (Gram) and total-variation losses, each returning its value and its gradient.
//!
//! For a layer with activation `a` of shape `n_C × P` (P spatial positions in any rank):
//!
//! | normalisation | content `J_c` | Gram `G` | style `J_s^l` |
//! |---|---|---|---|
//! | `Lecture` (default) | `1/(4·n_C·P) Σ (a(C) − a(G))²` | `F·Fᵀ` | `1/(2·n_C·P)² Σ (G(S) − G(G))²` |
//! | `Gatys` (2015) | `½ Σ (a(C) − a(G))²` | `F·Fᵀ` | `1/(4·n_C²·P²) Σ (G(S) − G(G))²` |
//! | `Johnson` (2016) | `1/(n_C·P) Σ (a(C) − a(G))²` | `F·Fᵀ/(n_C·P)` | `Σ (G(S) − G(G))²` |
//!
//! The lecture's and Gatys' style costs coincide; they differ in the content cost. Every cost is
//! `scale · Σ (x − t)²`, so its gradient is `2·scale·(x − t)`, chained through `G` as
//! `∂J/∂F = g·(∂J/∂G + ∂J/∂Gᵀ)·F` with `g` the Gram scale.

mod cross;
mod objective;
pub mod temporal;
mod tiled;
mod tv;

pub use cross::{pooled_gram, pooled_style_loss, CrossObjective, SliceEval, SliceStyle};
pub use objective::{Breakdown, Objective, StyleTarget, Weights};
pub use temporal::{flicker, TemporalMask};
pub use tv::{total_variation, total_variation_grad};

use crate::error::{Error, Result};
use crate::profile::{timed, Phase};
use crate::tensor::gram::{gram, gram_backward_symmetric, Gram};
use crate::tensor::Tensor;

/// Which normalisation of the content and style costs to use (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Normalization {
    #[default]
    Lecture,
    Gatys,
    Johnson,
}

impl std::str::FromStr for Normalization {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "lecture" => Ok(Normalization::Lecture),
            "gatys" => Ok(Normalization::Gatys),
            "johnson" => Ok(Normalization::Johnson),
            _ => Err(Error::invalid("normalization", format!("'{s}' (expected lecture, gatys or johnson)"))),
        }
    }
}

impl Normalization {
    /// `s` in `J_c = s·Σ (a(C) − a(G))²` for `channels × positions` activations.
    pub fn content_scale(self, channels: usize, positions: usize) -> f64 {
        let (c, p) = (channels as f64, positions as f64);
        match self {
            Normalization::Lecture => 1.0 / (4.0 * c * p),
            Normalization::Gatys => 0.5,
            Normalization::Johnson => 1.0 / (c * p),
        }
    }
    /// `g` in `G = g·F·Fᵀ`.
    pub fn gram_scale(self, channels: usize, positions: usize) -> f32 {
        match self {
            Normalization::Johnson => 1.0 / (channels as f32 * positions as f32),
            _ => 1.0,
        }
    }
    /// `s` in `J_s = s·Σ (G(S) − G(G))²`.
    pub fn style_scale(self, channels: usize, positions: usize) -> f64 {
        let (c, p) = (channels as f64, positions as f64);
        match self {
            Normalization::Lecture | Normalization::Gatys => 1.0 / (2.0 * c * p).powi(2),
            Normalization::Johnson => 1.0,
        }
    }
}

/// `(J_c, ∂J_c/∂a)` for activation `a` against the content target `t` (same shape).
pub fn content_loss<const N: usize>(
    a: &Tensor<N>,
    t: &Tensor<N>,
    norm: Normalization,
) -> Result<(f64, Tensor<N>)> {
    content_loss_weighted(a, t, norm, 1.0)
}

/// `(J_c, weight·∂J_c/∂a)`: [`content_loss`] with its gradient already scaled (in the same pass).
pub fn content_loss_weighted<const N: usize>(
    a: &Tensor<N>,
    t: &Tensor<N>,
    norm: Normalization,
    weight: f64,
) -> Result<(f64, Tensor<N>)> {
    squared_error(a, t, norm.content_scale(a.channels(), a.positions()), weight)
}

/// `(scale·Σ (a − t)², weight·2·scale·(a − t))` for `a` and `t` of the same shape.
fn squared_error<const N: usize>(
    a: &Tensor<N>,
    t: &Tensor<N>,
    scale: f64,
    weight: f64,
) -> Result<(f64, Tensor<N>)> {
    if !a.same_shape(t) {
        return Err(Error::shape(
            "content loss",
            format!("activation {} vs target {}", a.shape_string(), t.shape_string()),
        ));
    }
    let mut grad = a.clone();
    let mut sum = 0.0f64;
    for (g, &tv) in grad.data_mut().iter_mut().zip(t.data()) {
        let d = *g - tv;
        sum += d as f64 * d as f64;
        *g = (2.0 * scale * weight * d as f64) as f32;
    }
    Ok((scale * sum, grad))
}

/// The Gram matrix of `a` under `norm` (the representation a style target stores).
pub fn style_gram<const N: usize>(a: &Tensor<N>, norm: Normalization) -> Gram {
    timed(Phase::Gram, || gram(a, norm.gram_scale(a.channels(), a.positions())))
}

/// `(J_s^l, ∂J_s^l/∂a)` for activation `a` against the target Gram `target` (one per batch item).
pub fn style_loss<const N: usize>(
    a: &Tensor<N>,
    target: &Gram,
    norm: Normalization,
) -> Result<(f64, Tensor<N>)> {
    style_loss_weighted(a, target, norm, 1.0)
}

/// `(J_s^l, weight·∂J_s^l/∂a)`: [`style_loss`] with the weight folded into `∂J/∂G`, so the
/// gradient costs no extra pass.
pub fn style_loss_weighted<const N: usize>(
    a: &Tensor<N>,
    target: &Gram,
    norm: Normalization,
    weight: f64,
) -> Result<(f64, Tensor<N>)> {
    let (j, dg, g_scale) = style_loss_gram(a, target, norm, weight)?;
    Ok((j, timed(Phase::Gram, || gram_backward_symmetric(a, &dg, g_scale))))
}

/// `(J_s^l, weight·∂J_s^l/∂G, scale of G)`: [`style_loss_weighted`] stopped at the Gram matrix,
/// for a backward pass that forms `∂J/∂a` where it reaches the layer ([`crate::nn::Grad::Gram`]).
pub fn style_loss_gram<const N: usize>(
    a: &Tensor<N>,
    target: &Gram,
    norm: Normalization,
    weight: f64,
) -> Result<(f64, Gram, f32)> {
    let (c, p) = (a.channels(), a.positions());
    if target.channels() != c || target.batch() != a.batch() {
        return Err(Error::shape(
            "style loss",
            format!("activation {} vs target Gram {}×{c}×{c}", a.shape_string(), target.batch()),
        ));
    }
    let g_scale = norm.gram_scale(c, p);
    let s = norm.style_scale(c, p);
    let mut dg = timed(Phase::Gram, || gram(a, g_scale));
    let mut sum = 0.0f64;
    for (g, &t) in dg.data_mut().iter_mut().zip(target.data()) {
        let d = *g - t;
        sum += d as f64 * d as f64;
        *g = (2.0 * s * weight * d as f64) as f32;
    }
    Ok((s * sum, dg, g_scale))
}
