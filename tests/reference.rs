//! Naive direct-loop reference implementations of the tensor ops, written plainly for comparison.

#![allow(dead_code)]

use ndstyle::tensor::geometry::unravel;
use ndstyle::tensor::Window;
use ndstyle::Tensor;

/// Every multi-index of a box of extents `dims`, row-major.
pub fn indices<const N: usize>(dims: [usize; N]) -> impl Iterator<Item = [usize; N]> {
    let total: usize = dims.iter().product();
    (0..total).map(move |f| unravel(f, &dims))
}

/// Padding before each axis and the output size, computed directly from the window.
fn pool_geometry<const N: usize>(w: &Window<N>, input: [usize; N]) -> ([usize; N], [usize; N]) {
    // The padding amounts (explicit or "same") come from the window; the output size is the
    // closed form, recomputed here.
    let g = w.resolve(input).expect("reference: valid window");
    let mut out = [0; N];
    for d in 0..N {
        let span = w.dilation[d] * (w.kernel[d] - 1) + 1;
        out[d] = (input[d] + g.lo[d] + g.hi[d] - span) / w.stride[d] + 1;
    }
    assert_eq!(out, g.output);
    (g.lo, out)
}

/// The input cells (multi-indices) read by output `o`, in row-major kernel order, and the tap count.
fn window_cells<const N: usize>(
    w: &Window<N>,
    lo: [usize; N],
    input: [usize; N],
    o: [usize; N],
) -> (Vec<[usize; N]>, usize) {
    let mut cells = Vec::new();
    for k in indices(w.kernel) {
        let mut i = [0usize; N];
        let mut inside = true;
        for d in 0..N {
            let c = (o[d] * w.stride[d] + k[d] * w.dilation[d]) as isize - lo[d] as isize;
            if c < 0 || c >= input[d] as isize {
                inside = false;
            } else {
                i[d] = c as usize;
            }
        }
        if inside {
            cells.push(i);
        }
    }
    (cells, w.kernel.iter().product())
}

/// Max pooling with padding as -inf: the values and the row-major argmax offsets.
pub fn max_pool<const N: usize>(x: &Tensor<N>, w: &Window<N>) -> (Tensor<N>, Vec<u32>) {
    let (lo, out) = pool_geometry(w, x.spatial());
    let mut y = Tensor::zeros(x.batch(), x.channels(), out);
    let mut arg = Vec::new();
    for b in 0..x.batch() {
        for c in 0..x.channels() {
            for o in indices(out) {
                let (cells, _) = window_cells(w, lo, x.spatial(), o);
                let mut best = f32::NEG_INFINITY;
                let mut at = None;
                for i in cells {
                    let v = x.at(b, c, i);
                    if at.is_none() || v > best {
                        best = v;
                        at = Some(x.spatial_offset(i) as u32);
                    }
                }
                *y.at_mut(b, c, o) = best;
                arg.push(at.expect("non-empty window"));
            }
        }
    }
    (y, arg)
}

/// Average pooling (divisor: all taps, or only the in-bounds cells).
pub fn avg_pool<const N: usize>(x: &Tensor<N>, w: &Window<N>, count_include_pad: bool) -> Tensor<N> {
    let (lo, out) = pool_geometry(w, x.spatial());
    let mut y = Tensor::zeros(x.batch(), x.channels(), out);
    for b in 0..x.batch() {
        for c in 0..x.channels() {
            for o in indices(out) {
                let (cells, taps) = window_cells(w, lo, x.spatial(), o);
                let n = if count_include_pad { taps } else { cells.len() };
                let sum: f64 = cells.iter().map(|&i| x.at(b, c, i) as f64).sum();
                *y.at_mut(b, c, o) = (sum / n as f64) as f32;
            }
        }
    }
    y
}

/// `G[b][i][j] = scale · Σ_p x[b, i, p] · x[b, j, p]`, in f64; `B × C × C` row-major.
pub fn gram<const N: usize>(x: &Tensor<N>, scale: f32) -> Vec<f64> {
    let (c, p) = (x.channels(), x.positions());
    let mut g = Vec::new();
    for b in 0..x.batch() {
        for i in 0..c {
            for j in 0..c {
                let s: f64 = (0..p).map(|q| x.channel(b, i)[q] as f64 * x.channel(b, j)[q] as f64).sum();
                g.push(scale as f64 * s);
            }
        }
    }
    g
}

/// The 1D interpolation weights of output `j` of an axis resized from `n_in` to `n_out`, as
/// (input index, weight) pairs. `linear`: half-pixel centres, align_corners = false (PyTorch);
/// otherwise PyTorch's 'nearest', floor(j · in/out) with the ratio in f32 as PyTorch computes it.
fn weights_1d(j: usize, n_in: usize, n_out: usize, linear: bool) -> Vec<(usize, f64)> {
    let ratio = n_in as f32 / n_out as f32;
    if linear {
        let s = ((j as f32 + 0.5) * ratio - 0.5).max(0.0) as f64;
        let i0 = s.floor() as usize;
        let lambda = s - i0 as f64;
        let i1 = if i0 + 1 < n_in { i0 + 1 } else { i0 };
        vec![(i0, 1.0 - lambda), (i1, lambda)]
    } else {
        let i = ((j as f32 * ratio).floor() as usize).min(n_in - 1);
        vec![(i, 1.0)]
    }
}

/// Resize by the direct (non-separable) formula: each output is the sum over the 2^N corners of
/// the product of the per-axis weights.
pub fn resize<const N: usize>(x: &Tensor<N>, out: [usize; N], linear: bool) -> Tensor<N> {
    let input = x.spatial();
    let mut y = Tensor::zeros(x.batch(), x.channels(), out);
    for b in 0..x.batch() {
        for c in 0..x.channels() {
            for o in indices(out) {
                let per_axis: Vec<Vec<(usize, f64)>> =
                    (0..N).map(|d| weights_1d(o[d], input[d], out[d], linear)).collect();
                let corners: [usize; N] = std::array::from_fn(|d| per_axis[d].len());
                let mut sum = 0.0f64;
                for corner in indices(corners) {
                    let mut i = [0usize; N];
                    let mut weight = 1.0;
                    for d in 0..N {
                        let (idx, wgt) = per_axis[d][corner[d]];
                        i[d] = idx;
                        weight *= wgt;
                    }
                    sum += weight * x.at(b, c, i) as f64;
                }
                *y.at_mut(b, c, o) = sum as f32;
            }
        }
    }
    y
}

/// ReLU, plainly.
pub fn relu<const N: usize>(x: &Tensor<N>) -> Tensor<N> {
    x.map(|v| if v > 0.0 { v } else { 0.0 })
}
