//! Resizing by nearest-neighbour or (bi/tri)linear interpolation over N spatial axes, with its adjoint.
//!
//! # Semantics
//! As PyTorch's `F.interpolate(x, size=out, mode=…)` with `align_corners=False`, computed in f32
//! like PyTorch's CPU kernels. Along an axis of input size `I` and output size `O`, with
//! `r = I / O` (as f32):
//!
//! * [`Interp::Nearest`] (PyTorch's `'nearest'`): output `j` copies input
//!   `min(floor(j·r), I − 1)`.
//! * [`Interp::Linear`] (`'linear'`, `'bilinear'`, `'trilinear'`): half-pixel centres; the
//!   source coordinate `s = max((j + ½)·r − ½, 0)` is split into `i₀ = floor(s)`,
//!   `i₁ = min(i₀ + 1, I − 1)` and `λ = s − i₀`, and the output is `(1 − λ)·x[i₀] + λ·x[i₁]`.
//! * [`Interp::Area`] (for shrinking; antialiased): output `j` is the mean of the input over the
//!   interval `[j·r, (j + 1)·r)`, cell `i` covering `[i, i + 1)`, so cells cut by an end of the
//!   interval count by the fraction inside it (computed in f64). It equals PyTorch's `'area'`
//!   when `O` divides `I`, keeps the mean of the input, and keeps the field of view: the outer
//!   edges of the first and last output cells are those of the input.
//!
//! Both modes are separable, so an N-dimensional resize is N one-axis resizes in turn, each
//! parallelised over the rows it touches; axes whose size does not change are skipped (the
//! one-axis operator is then the identity). [`resize_backward`] applies the transposed
//! one-axis operators, which is the exact adjoint.

use rayon::prelude::*;

use super::Tensor;
use crate::error::{Error, Result};

/// Interpolation mode of [`resize`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Interp {
    /// Nearest neighbour, PyTorch's `'nearest'` (not `'nearest-exact'`).
    Nearest,
    /// Linear along each axis: linear in 1D, bilinear in 2D, trilinear in 3D.
    Linear,
    /// The mean over each output cell's footprint (box filter), for shrinking without aliasing.
    Area,
}

/// Output `j` of one axis reads `Σ w·x[i]` over its taps `(i, w)`.
type Taps = Vec<(usize, f32)>;

/// The taps of every output position of an axis resized from `input` to `output` (both > 0).
fn axis_taps(input: usize, output: usize, mode: Interp) -> Vec<Taps> {
    let ratio = input as f32 / output as f32;
    (0..output)
        .map(|j| match mode {
            Interp::Nearest => {
                let i = ((j as f32 * ratio).floor() as usize).min(input - 1);
                vec![(i, 1.0)]
            }
            Interp::Linear => {
                let s = (ratio * (j as f32 + 0.5) - 0.5).max(0.0);
                let i0 = (s as usize).min(input - 1);
                let i1 = (i0 + 1).min(input - 1);
                let lambda = s - i0 as f32;
                let mut taps = vec![(i0, 1.0 - lambda)];
                if lambda != 0.0 {
                    taps.push((i1, lambda));
                }
                taps
            }
            Interp::Area => {
                let r = input as f64 / output as f64;
                let (lo, hi) = (j as f64 * r, ((j + 1) as f64 * r).min(input as f64));
                let first = lo.floor() as usize;
                let last = (hi.ceil() as usize).clamp(first + 1, input);
                (first..last)
                    .map(|i| (i, ((hi.min(i as f64 + 1.0) - lo.max(i as f64)) / r) as f32))
                    .filter(|&(_, w)| w > 0.0)
                    .collect()
            }
        })
        .collect()
}

fn check_sizes<const N: usize>(op: &'static str, input: [usize; N], output: [usize; N]) -> Result<()> {
    if input.contains(&0) || output.contains(&0) {
        return Err(Error::invalid(
            format!("{op} size"),
            format!("input {input:?} and output {output:?} must be at least 1 on every axis"),
        ));
    }
    Ok(())
}

/// Row-major extents `(outer, inner)` around axis `d` of a `B × C × spatial` tensor.
fn around<const N: usize>(batch: usize, channels: usize, spatial: &[usize; N], d: usize) -> (usize, usize) {
    let outer = batch * channels * spatial[..d].iter().product::<usize>();
    let inner = spatial[d + 1..].iter().product::<usize>();
    (outer, inner)
}

/// Resize `x` to spatial size `out`; see the module documentation for the semantics.
///
/// # Shapes
/// `x: B × C × S_1 × … × S_N` → `B × C × out_1 × … × out_N`.
///
/// # Errors
/// A zero size in `out` or in the spatial extent of `x`.
pub fn resize<const N: usize>(x: &Tensor<N>, out: [usize; N], mode: Interp) -> Result<Tensor<N>> {
    check_sizes("resize", x.spatial(), out)?;
    let (b, c) = (x.batch(), x.channels());
    let mut cur = x.clone();
    for d in 0..N {
        let (n_in, n_out) = (cur.spatial()[d], out[d]);
        if n_in == n_out {
            continue;
        }
        let taps = axis_taps(n_in, n_out, mode);
        let mut spatial = cur.spatial();
        spatial[d] = n_out;
        let mut next = Tensor::zeros(b, c, spatial);
        let (_, inner) = around(b, c, &spatial, d);
        if !next.is_empty() {
            next.data_mut().par_chunks_mut(n_out * inner).zip(cur.data().par_chunks(n_in * inner)).for_each(
                |(dst, src)| {
                    for (row, taps) in dst.chunks_exact_mut(inner).zip(&taps) {
                        for (k, &(i, w)) in taps.iter().enumerate() {
                            let a = &src[i * inner..(i + 1) * inner];
                            if k == 0 {
                                row.iter_mut().zip(a).for_each(|(r, &v)| *r = w * v);
                            } else {
                                row.iter_mut().zip(a).for_each(|(r, &v)| *r += w * v);
                            }
                        }
                    }
                },
            );
        }
        cur = next;
    }
    Ok(cur)
}

/// The adjoint of [`resize`] (its exact gradient with respect to the input): every output
/// gradient is spread back onto the input cells it was interpolated from, with the same weights.
///
/// # Shapes
/// `dy: B × C × out_1 × … × out_N` → `dx: B × C × S_1 × … × S_N` with `S = input_spatial`.
///
/// # Errors
/// A zero size in `input_spatial` or in the spatial extent of `dy`.
pub fn resize_backward<const N: usize>(
    dy: &Tensor<N>,
    input_spatial: [usize; N],
    mode: Interp,
) -> Result<Tensor<N>> {
    check_sizes("resize_backward", input_spatial, dy.spatial())?;
    let (b, c) = (dy.batch(), dy.channels());
    let mut cur = dy.clone();
    for d in (0..N).rev() {
        let (n_in, n_out) = (input_spatial[d], cur.spatial()[d]);
        if n_in == n_out {
            continue;
        }
        let taps = axis_taps(n_in, n_out, mode);
        let mut spatial = cur.spatial();
        spatial[d] = n_in;
        let mut next = Tensor::zeros(b, c, spatial);
        let (_, inner) = around(b, c, &spatial, d);
        if !next.is_empty() {
            next.data_mut().par_chunks_mut(n_in * inner).zip(cur.data().par_chunks(n_out * inner)).for_each(
                |(dst, src)| {
                    for (row, taps) in src.chunks_exact(inner).zip(&taps) {
                        for &(i, w) in taps {
                            let a = &mut dst[i * inner..(i + 1) * inner];
                            a.iter_mut().zip(row).for_each(|(a, &g)| *a += w * g);
                        }
                    }
                },
            );
        }
        cur = next;
    }
    Ok(cur)
}
