//! The network's working range for inputs whose format does not scale them: signals standardised per channel, volumes by a robust window.
//!
//! A CSV signal is stored as written (its round trip is exact) and a NIfTI volume in its scanner's
//! units, so an ECG in mV, a PPG in sensor counts with an offset near 490, an MRI in arbitrary
//! units and a CT in Hounsfield units would reach the network on scales four orders of magnitude
//! apart. The style loss grows with the fourth power of that scale (6e14 for an MRI content with a
//! CT style), and a signal's offset against the zero padding makes a burst at both ends. So each
//! input of a run is mapped on its own into the working range:
//! - **signals** by per-channel standardisation ([`Standardize`]), as EDF and WFDB already are;
//! - **volumes** by the window from their 0.5th to their 99.5th percentile onto [0, 1]
//!   ([`robust_window`]), unless a window was given (`--window`, `--content-window`,
//!   `--style-window`).
//!
//! The content's mapping is inverted on writing, so the result is in the content's units, offset
//! and range. Images, video frames and spectrograms are in range already; `.npy` arrays are the
//! user's own and are left as stored.

use super::format::{Scaling, Source};
use super::standardize::Standardize;
use super::volume::IntensityWindow;
use super::Kind;
use crate::error::Result;
use crate::rank::AnyTensor;
use crate::tensor::Tensor;
use crate::with_rank;

/// The lower and upper percentiles of [`robust_window`].
pub const WINDOW_PERCENTILES: (f64, f64) = (0.5, 99.5);
/// At most this many values are sorted to find the percentiles (evenly strided beyond it).
const PERCENTILE_SAMPLES: usize = 1 << 22;

/// `t` mapped into the working range as its kind needs, with the mapping recorded in `source`
/// (and said in its notes); unchanged where its format already scaled it or needs no scaling.
pub fn into_working_range(t: AnyTensor, mut source: Source, what: &str) -> Result<(AnyTensor, Source)> {
    let kind = match source.kind {
        Some(k @ (Kind::Signal | Kind::Volume)) if source.scaling == Scaling::Identity => k,
        _ => return Ok((t, source)),
    };
    let (t, scaling) = with_rank!(t.rank(), N => mapped::<N>(t.into_rank::<N>(what)?, kind))?;
    source.notes.push(match &scaling {
        Scaling::Window(w) => format!(
            "{what}: intensity window [{}, {}] (its {}th to {}th percentile) mapped to [0, 1]; \
             set one with --content-window/--style-window",
            w.lo, w.hi, WINDOW_PERCENTILES.0, WINDOW_PERCENTILES.1
        ),
        _ => format!("{what}: standardised per channel (mean and std), inverted on output"),
    });
    source.scaling = scaling;
    Ok((t, source))
}

/// `t` mapped by the scaling its kind (signal or volume) takes, and that scaling.
fn mapped<const N: usize>(t: Tensor<N>, kind: Kind) -> Result<(AnyTensor, Scaling)> {
    let scaling = match kind {
        Kind::Volume => Scaling::Window(robust_window(t.data())),
        _ => Scaling::Standardize(Standardize::fit(&t)),
    };
    Ok((AnyTensor::new(scaling.apply(&t)?)?, scaling))
}

/// The window from the [`WINDOW_PERCENTILES`] of `values` (finite), widened to the full range
/// when they coincide (a volume that is mostly one value), and to `[v, v + 1]` for a constant one.
pub fn robust_window(values: &[f32]) -> IntensityWindow {
    let stride = values.len().div_ceil(PERCENTILE_SAMPLES).max(1);
    let mut v: Vec<f32> = values.iter().step_by(stride).copied().collect();
    v.sort_unstable_by(f32::total_cmp);
    let at = |p: f64| v[((p / 100.0 * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)];
    let (lo, hi) = (at(WINDOW_PERCENTILES.0), at(WINDOW_PERCENTILES.1));
    let (lo, hi) = if lo < hi { (lo, hi) } else { (v[0], v[v.len() - 1]) };
    IntensityWindow::new(lo, hi).unwrap_or(IntensityWindow { lo, hi: lo + 1.0 })
}
