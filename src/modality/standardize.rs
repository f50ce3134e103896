//! Per-channel standardisation of physiological recordings (EDF, WFDB): `(x − mean)/std` in, inverted out.
//!
//! EEG in µV and ECG in mV differ by three orders of magnitude, and the style loss scales with the
//! fourth power of the input (a Gram matrix of activations, squared): a µV-scale EEG starts near
//! 1e7 under the default β while a mV ECG starts near 1. Each input of these formats is therefore
//! standardised channel by channel with its own mean and standard deviation before it reaches the
//! network, and the result is mapped back with the content's, so it is written in the content's
//! physical units. A constant channel (std 0) is only shifted.

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The mean and standard deviation of each channel of one input.
#[derive(Clone, Debug, PartialEq)]
pub struct Standardize {
    /// One mean per channel, in the input's units.
    pub mean: Vec<f64>,
    /// One standard deviation per channel (1 for a constant channel).
    pub std: Vec<f64>,
}

impl Standardize {
    /// The statistics of every channel of `t` (batch 1).
    pub fn fit<const N: usize>(t: &Tensor<N>) -> Standardize {
        let (mut mean, mut std) = (Vec::new(), Vec::new());
        for c in 0..t.channels() {
            let x = t.channel(0, c);
            let n = x.len().max(1) as f64;
            let m = x.iter().map(|&v| v as f64).sum::<f64>() / n;
            let var = x.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / n;
            let s = var.sqrt();
            mean.push(m);
            std.push(if s > 0.0 && s.is_finite() { s } else { 1.0 });
        }
        Standardize { mean, std }
    }

    /// `t` with every channel mapped by `(x − mean)/std`.
    pub fn apply<const N: usize>(&self, t: &Tensor<N>) -> Result<Tensor<N>> {
        self.map(t, |x, m, s| (x - m) / s)
    }

    /// `t` with every channel mapped back by `x·std + mean`.
    pub fn invert<const N: usize>(&self, t: &Tensor<N>) -> Result<Tensor<N>> {
        self.map(t, |x, m, s| x * s + m)
    }

    /// Fit on `t` and apply: the standardised tensor and the statistics to invert it.
    pub fn fit_apply<const N: usize>(t: &Tensor<N>) -> Result<(Tensor<N>, Standardize)> {
        let s = Standardize::fit(t);
        Ok((s.apply(t)?, s))
    }

    fn map<const N: usize>(&self, t: &Tensor<N>, f: impl Fn(f64, f64, f64) -> f64) -> Result<Tensor<N>> {
        if t.channels() != self.mean.len() || t.batch() != 1 {
            return Err(Error::shape(
                "standardize",
                format!(
                    "tensor {} for statistics of {} channels (batch 1)",
                    t.shape_string(),
                    self.mean.len()
                ),
            ));
        }
        let mut out = t.clone();
        for c in 0..t.channels() {
            let (m, s) = (self.mean[c], self.std[c]);
            for v in out.channel_mut(0, c) {
                *v = f(*v as f64, m, s) as f32;
            }
        }
        Ok(out)
    }
}
