//! Shrinking data to a size limit (`--max-side`): the target size, area averaging over space, band-limited resampling in time.
//!
//! Nothing here enlarges: a size already within the limit is left alone.
//!
//! * [`fit`] picks the target size: the longest of the chosen axes becomes the limit and the
//!   others are scaled by the same factor (rounded, at least 1), so the aspect is kept.
//! * [`shrink`] averages over each output cell's footprint ([`Interp::Area`]), the antialiasing
//!   a box prefilter gives; images, volumes and video frames are shrunk this way.
//! * [`bandlimited`] resamples one axis with an ideal low-pass at the new Nyquist frequency,
//!   through the FFT of the line extended by its mirror image (so its two ends do not meet in a
//!   jump); output sample `j` is at input position `j·n/m`, so the first sample keeps its time.

use realfft::num_complex::Complex;
use realfft::RealFftPlanner;

use super::resample::{resize, Interp};
use super::Tensor;
use crate::error::{Error, Result};

/// The size `size` takes when the longest of the `axes` marked `true` is at most `max_side`:
/// `None` when it already is (nothing is enlarged). Unmarked axes keep their size.
pub fn fit<const N: usize>(size: [usize; N], axes: [bool; N], max_side: usize) -> Option<[usize; N]> {
    let long = (0..N).filter(|&d| axes[d]).map(|d| size[d]).max()?;
    if long <= max_side.max(1) {
        return None;
    }
    let scale = max_side.max(1) as f64 / long as f64;
    Some(std::array::from_fn(|d| {
        if axes[d] {
            ((size[d] as f64 * scale).round() as usize).clamp(1, size[d])
        } else {
            size[d]
        }
    }))
}

/// `x` shrunk by area averaging so that the longest of `axes` is at most `max_side` (see [`fit`]);
/// `None` when it already is.
///
/// # Shapes
/// `x: B × C × S` → `B × C × fit(S)`.
pub fn shrink<const N: usize>(x: &Tensor<N>, axes: [bool; N], max_side: usize) -> Result<Option<Tensor<N>>> {
    match fit(x.spatial(), axes, max_side) {
        Some(out) => resize(x, out, Interp::Area).map(Some),
        None => Ok(None),
    }
}

/// `x` resampled along spatial axis `axis` to `len ≤ n` samples, band-limited to the new Nyquist
/// frequency (see the module documentation); computed in f64. `len == n` returns `x` unchanged.
///
/// # Errors
/// `axis` out of range, or `len` zero or above the axis's size.
pub fn bandlimited<const N: usize>(x: &Tensor<N>, axis: usize, len: usize) -> Result<Tensor<N>> {
    let size = x.spatial();
    if axis >= N || len == 0 || len > size[axis] {
        return Err(Error::invalid(
            "band-limited resampling",
            format!("axis {axis} of {size:?} to {len} samples (need 1 ≤ len ≤ the axis's size)"),
        ));
    }
    let n = size[axis];
    if len == n {
        return Ok(x.clone());
    }
    let mut planner = RealFftPlanner::<f64>::new();
    let (forward, inverse) = (planner.plan_fft_forward(2 * n), planner.plan_fft_inverse(2 * len));
    let inner: usize = size[axis + 1..].iter().product();
    let outer = x.len() / (n * inner);
    let mut out_size = size;
    out_size[axis] = len;
    let mut y = Tensor::zeros(x.batch(), x.channels(), out_size);
    let (mut line, mut spectrum) = (forward.make_input_vec(), forward.make_output_vec());
    let (mut kept, mut back) = (inverse.make_input_vec(), inverse.make_output_vec());
    let fft_error = |e: realfft::FftError| Error::invalid("band-limited resampling", e.to_string());
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * n + k) * inner + i;
            for k in 0..n {
                let v = x.data()[at(k)] as f64;
                line[k] = v;
                line[2 * n - 1 - k] = v;
            }
            forward.process(&mut line, &mut spectrum).map_err(fft_error)?;
            kept[..len].copy_from_slice(&spectrum[..len]);
            kept[0].im = 0.0;
            kept[len] = Complex::new(0.0, 0.0);
            inverse.process(&mut kept, &mut back).map_err(fft_error)?;
            for (k, v) in back[..len].iter().enumerate() {
                y.data_mut()[(o * len + k) * inner + i] = (v / (2 * n) as f64) as f32;
            }
        }
    }
    Ok(y)
}

/// [`shrink`] with what it did, for the log: `1920×1080 resized to 256×144` (the shrunk axes,
/// fastest first, the way image and volume sizes are written).
pub fn shrink_noted<const N: usize>(
    x: &Tensor<N>,
    axes: [bool; N],
    max_side: usize,
) -> Result<Option<(Tensor<N>, String)>> {
    let size = |s: [usize; N]| dims(&(0..N).rev().filter(|&d| axes[d]).map(|d| s[d]).collect::<Vec<_>>());
    Ok(shrink(x, axes, max_side)?.map(|y| {
        let note = format!("{} resized to {}", size(x.spatial()), size(y.spatial()));
        (y, note)
    }))
}

/// `[512, 512, 300]` as `512×512×300`.
pub fn dims(size: &[usize]) -> String {
    size.iter().map(usize::to_string).collect::<Vec<_>>().join("×")
}
