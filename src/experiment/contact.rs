//! A contact sheet: the results of an experiment as a grid of thumbnails in one PNG
//! (images as they are, 3D results by their middle slice, 1D results as small line plots).

use std::path::{Path, PathBuf};

use crate::data;
use crate::error::Result;
use crate::io::write_image;
use crate::rank::AnyTensor;
use crate::tensor::resample::{resize, Interp};
use crate::tensor::Tensor;

/// The side of a thumbnail's cell, in pixels.
pub const THUMB: usize = 128;
const GAP: usize = 4;

/// Write `out` with one thumbnail per `(result file, rank)`, row by row.
pub fn contact_sheet(results: &[(PathBuf, usize)], out: &Path) -> Result<()> {
    let n = results.len().max(1);
    let cols = (n as f64).sqrt().ceil() as usize;
    let rows = n.div_ceil(cols);
    let (h, w) = (rows * (THUMB + GAP) + GAP, cols * (THUMB + GAP) + GAP);
    let mut sheet = Tensor::<2>::full(1, 3, [h, w], 0.2);
    for (k, (path, rank)) in results.iter().enumerate() {
        let options = data::LoadOptions { rank: Some(*rank), ..Default::default() };
        let thumb = match data::load_any(path, &options)?.0 {
            AnyTensor::R1(t) => line_plot(&t, [THUMB, THUMB]),
            AnyTensor::R2(t) => fit(&t)?,
            AnyTensor::R3(t) => fit(&mid_slice(&t)?)?,
        };
        let (y0, x0) = (GAP + (k / cols) * (THUMB + GAP), GAP + (k % cols) * (THUMB + GAP));
        let [th, tw] = thumb.spatial();
        for c in 0..3 {
            for i in 0..th {
                for j in 0..tw {
                    *sheet.at_mut(0, c, [y0 + i, x0 + j]) = thumb.at(0, c, [i, j]);
                }
            }
        }
    }
    write_image(out, &sheet)
}

/// The middle slice along the first spatial axis of a 3D result.
fn mid_slice(t: &Tensor<3>) -> Result<Tensor<2>> {
    let [d, h, w] = t.spatial();
    let mut s = Tensor::<2>::zeros(1, t.channels(), [h, w]);
    for c in 0..t.channels() {
        for i in 0..h {
            for j in 0..w {
                *s.at_mut(0, c, [i, j]) = t.at(0, c, [d / 2, i, j]);
            }
        }
    }
    Ok(s)
}

/// An RGB thumbnail no larger than [`THUMB`] on either side, values scaled into `[0, 1]`
/// (min–max when the data leave that range; one channel shown as grey, more than three: the first).
fn fit(t: &Tensor<2>) -> Result<Tensor<2>> {
    let [h, w] = t.spatial();
    let scale = THUMB as f64 / h.max(w) as f64;
    let size = [((h as f64 * scale).round() as usize).max(1), ((w as f64 * scale).round() as usize).max(1)];
    let small = resize(t, size, Interp::Linear)?;
    let (lo, hi) =
        small.data().iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let norm = |v: f32| {
        if lo >= 0.0 && hi <= 1.0 {
            v
        } else {
            (v - lo) / (hi - lo).max(1e-12)
        }
    };
    let mut rgb = Tensor::<2>::zeros(1, 3, size);
    for c in 0..3 {
        let src = if small.channels() == 3 { c } else { 0 };
        for i in 0..size[0] {
            for j in 0..size[1] {
                *rgb.at_mut(0, c, [i, j]) = norm(small.at(0, src, [i, j])).clamp(0.0, 1.0);
            }
        }
    }
    Ok(rgb)
}

/// A line plot of the first channel of a 1D tensor as an RGB image of `[height, width]` pixels
/// (at least 5 × 2): a dark blue line on white, min–max scaled to the height less a 2-pixel
/// margin, one sample per column (the nearest), consecutive columns joined by vertical runs.
pub fn line_plot(t: &Tensor<1>, [height, width]: [usize; 2]) -> Tensor<2> {
    let (height, width) = (height.max(5), width.max(2));
    let mut img = Tensor::<2>::full(1, 3, [height, width], 1.0);
    let ys = t.channel(0, 0);
    let (lo, hi) = ys.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let n = ys.len();
    let row = |v: f32| {
        let u = (v - lo) / (hi - lo).max(1e-12);
        ((1.0 - u) * (height - 5) as f32).round() as usize + 2
    };
    let mut prev: Option<usize> = None;
    for x in 0..width {
        // The sample under this column; join it to the previous column with a vertical run.
        let v = ys[(x * n.saturating_sub(1)) / (width - 1)];
        let y = row(v);
        let (a, b) = match prev {
            Some(p) => (p.min(y), p.max(y)),
            None => (y, y),
        };
        for yy in a..=b {
            for (c, val) in [0.1f32, 0.2, 0.6].iter().enumerate() {
                *img.at_mut(0, c, [yy, x]) = *val;
            }
        }
        prev = Some(y);
    }
    img
}
