//! 1D stride-1 convolution as one SGEMM per tap on shifted views: no unfold buffer at all.
//!
//! For tap `k` the forward pass is `y[:, o] += W_k · x[:, o + k·d − lo]` and the input gradient is
//! `dx[:, i] += W_kᵀ · dy[:, i + lo − k·d]`, each over the positions whose source lies inside; `W_k`
//! (`Co × Ci`, the `k`-th tap of every kernel) is a strided view of the weight. When both channel
//! counts are large (a spectrogram's 1025 bins into 4096 filters) this beats im2col, whose column
//! of `Co·taps` rows per position no longer fits in cache; with few channels im2col wins.

use super::gemm::{matmul_raw, MatRef, Threads};
use super::geometry::Geometry;
use super::Tensor;

/// Fewest input and output channels for which the shifted products are used.
pub(crate) const SHIFT_MIN_CHANNELS: usize = 64;

/// Whether the shifted products apply: rank 1, stride 1, enough channels both ways.
pub(crate) fn applies<const N: usize>(g: &Geometry<N>, ci: usize, co: usize) -> bool {
    N == 1 && g.stride[0] == 1 && ci.min(co) >= SHIFT_MIN_CHANNELS
}

/// The output positions `[lo, hi)` whose source `o + shift` lies in `0..n_src`, among `0..n_dst`.
fn span(shift: isize, n_dst: usize, n_src: usize) -> (usize, usize) {
    let lo = (-shift).max(0) as usize;
    let hi = (n_src as isize - shift).clamp(0, n_dst as isize) as usize;
    (lo.min(hi), hi)
}

/// `y[b, offset + co, :] += Σ_k W_k · x[b, :, · + k·d − lo]` (the bias is already in `y`).
pub(crate) fn forward_into<const N: usize>(
    x: &Tensor<N>,
    w: &Tensor<N>,
    g: &Geometry<N>,
    y: &mut Tensor<N>,
    offset: usize,
) {
    let (co, ci, taps) = (w.batch(), w.channels(), g.taps());
    let (pin, pout) = (g.in_positions(), g.out_positions());
    for b in 0..x.batch() {
        let item = &mut y.item_mut(b)[offset * pout..(offset + co) * pout];
        for k in 0..taps {
            let shift = (k * g.dilation[0]) as isize - g.lo[0] as isize;
            let (o0, o1) = span(shift, pout, pin);
            if o0 == o1 {
                continue;
            }
            let wk = MatRef::strided(&w.data()[k..], co, ci, ci * taps, taps);
            let src = MatRef::strided(&x.item(b)[(o0 as isize + shift) as usize..], ci, o1 - o0, pin, 1);
            // SAFETY: columns o0..o1 of the Co rows (stride pout) lie inside `item`, borrowed mutably.
            unsafe {
                matmul_raw(item.as_mut_ptr().add(o0), co, o1 - o0, pout, 1, wk, src, true, Threads::Pool)
            }
        }
    }
}

/// `dx (+)= Σ_k W_kᵀ · dy[b, offset.., · + lo − k·d]`.
pub(crate) fn backward_into<const N: usize>(
    dy: &Tensor<N>,
    offset: usize,
    w: &Tensor<N>,
    g: &Geometry<N>,
    dx: &mut Tensor<N>,
    accumulate: bool,
) {
    let (co, ci, taps) = (w.batch(), w.channels(), g.taps());
    let (pin, pout) = (g.in_positions(), g.out_positions());
    for b in 0..dy.batch() {
        let item = dx.item_mut(b);
        if !accumulate {
            item.fill(0.0);
        }
        let src = &dy.item(b)[offset * pout..(offset + co) * pout];
        for k in 0..taps {
            let shift = g.lo[0] as isize - (k * g.dilation[0]) as isize;
            let (i0, i1) = span(shift, pin, pout);
            if i0 == i1 {
                continue;
            }
            let wkt = MatRef::strided(&w.data()[k..], ci, co, taps, ci * taps);
            let d = MatRef::strided(&src[(i0 as isize + shift) as usize..], co, i1 - i0, pout, 1);
            // SAFETY: columns i0..i1 of the Ci rows (stride pin) lie inside `item`, borrowed mutably.
            unsafe { matmul_raw(item.as_mut_ptr().add(i0), ci, i1 - i0, pin, 1, wkt, d, true, Threads::Pool) }
        }
    }
}
