//! Short-term temporal consistency for video (Ruder, Dosovitskiy & Brox 2016), and a flicker metric.
//!
//! Spatial axis 0 is time. With content frames `c_t` and result frames `x_t`,
//!
//! `J_temporal(x) = 1/|x| · Σ_{t≥1} Σ_{b, ch, p} m_t(p) · (x_t(p) − x_{t−1}(p))²`,
//! `m_t(p) = exp(−k · mean_ch |c_t(p) − c_{t−1}(p)|)`,
//!
//! so the result may change where the content changes (the mask falls towards 0 there) and is
//! held still where the content is still. Ruder et al. warp `x_{t−1}` by the optical flow and mask
//! occlusions; here the flow is taken as zero and the mask comes from the content difference, which
//! needs no flow estimate and is exact for a static camera. The mask is shared by the channels
//! (one per position), and the sum is normalised like [`super::total_variation`] so that weights
//! of the two terms are comparable.

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The default `k` of the mask: a content change of 0.1 (inputs in [0, 1]) weighs `e^{−1}`.
pub const DEFAULT_K: f64 = 10.0;

/// The per-position weights `m_t` of the frame pairs `(t − 1, t)` of one content.
#[derive(Clone, Debug)]
pub struct TemporalMask<const N: usize> {
    /// `B × 1 × (T − 1) × S_1 × …`: the weight of pair `(t − 1, t)` at frame index `t − 1`.
    mask: Tensor<N>,
    /// Channels, batch and spatial shape of the content the mask was made from.
    channels: usize,
    spatial: [usize; N],
}

impl<const N: usize> TemporalMask<N> {
    /// The mask of `content` (time along spatial axis 0) with sharpness `k >= 0` (0: every change
    /// is penalised alike).
    pub fn new(content: &Tensor<N>, k: f64) -> Result<Self> {
        if N == 0 {
            return Err(Error::shape("temporal", "rank-0 inputs have no time axis"));
        }
        if !(k.is_finite() && k >= 0.0) {
            return Err(Error::invalid("temporal k", format!("{k} (must be finite and >= 0)")));
        }
        let (t, frame) = frames(content);
        let c = content.channels();
        let mut spatial = content.spatial();
        if let Some(s0) = spatial.first_mut() {
            *s0 = t.saturating_sub(1);
        }
        let mut mask = Tensor::zeros(content.batch(), 1, spatial);
        for b in 0..content.batch() {
            let m = mask.channel_mut(b, 0);
            for ch in 0..c {
                let v = content.channel(b, ch);
                for (i, mi) in m.iter_mut().enumerate() {
                    *mi += (v[i + frame] - v[i]).abs() / c as f32;
                }
            }
            m.iter_mut().for_each(|d| *d = (-k * *d as f64).exp() as f32);
        }
        Ok(TemporalMask { mask, channels: c, spatial: content.spatial() })
    }

    /// The mask values: `B × 1 × (T − 1) × S_1 × …`.
    pub fn values(&self) -> &Tensor<N> {
        &self.mask
    }

    /// `(J_temporal(x), ∂J_temporal/∂x)` for a result `x` of the content's shape.
    pub fn loss(&self, x: &Tensor<N>) -> Result<(f64, Tensor<N>)> {
        if x.batch() != self.mask.batch() || x.channels() != self.channels || x.spatial() != self.spatial {
            return Err(Error::shape(
                "temporal",
                format!(
                    "result {} vs content {}×{}×{:?}",
                    x.shape_string(),
                    self.mask.batch(),
                    self.channels,
                    self.spatial
                ),
            ));
        }
        let (_, frame) = frames(x);
        let scale = 1.0 / x.len().max(1) as f64;
        let mut grad = Tensor::zeros(x.batch(), x.channels(), x.spatial());
        let mut sum = 0.0f64;
        for b in 0..x.batch() {
            let m = self.mask.channel(b, 0);
            for ch in 0..x.channels() {
                let v = x.channel(b, ch);
                let g = grad.channel_mut(b, ch);
                for (i, &w) in m.iter().enumerate() {
                    let d = (v[i + frame] - v[i]) as f64;
                    sum += w as f64 * d * d;
                    let dg = (2.0 * scale * w as f64 * d) as f32;
                    g[i + frame] += dg;
                    g[i] -= dg;
                }
            }
        }
        Ok((scale * sum, grad))
    }
}

/// Flicker: the mean absolute difference `|x_t − x_{t−1}|` of consecutive frames (spatial axis 0
/// is time) over every batch item, channel and position; 0 with fewer than two frames.
pub fn flicker<const N: usize>(t: &Tensor<N>) -> f64 {
    if N == 0 {
        return 0.0;
    }
    let (frames_n, frame) = frames(t);
    if frames_n < 2 {
        return 0.0;
    }
    let mut sum = 0.0f64;
    for b in 0..t.batch() {
        for ch in 0..t.channels() {
            let v = t.channel(b, ch);
            sum += v[frame..].iter().zip(v).map(|(a, b)| (a - b).abs() as f64).sum::<f64>();
        }
    }
    sum / (t.batch() * t.channels() * (frames_n - 1) * frame).max(1) as f64
}

/// `(T, positions per frame)` of a tensor whose spatial axis 0 is time (`N >= 1`).
fn frames<const N: usize>(t: &Tensor<N>) -> (usize, usize) {
    let s = t.spatial();
    (s.first().copied().unwrap_or(1), s.iter().skip(1).product())
}
