//! Winograd F(2,3)^N convolution for 3-tap, stride-1, undilated layers in 2D and 3D, vectorised across tiles.
//!
//! Each output tile of `2^N` positions reads a `4^N` input patch. A block of tiles is gathered into
//! `V[ξ][ci][t]` (`4^N` matrices `Ci × tiles`), transformed by `Bᵀ` along each axis in turn (every
//! step elementwise over whole `Ci × tiles` rows, so it vectorises across tiles), multiplied by the
//! transformed weights `U[ξ] = (G·w·Gᵀ)[ξ]` (`Co × Ci`) in `4^N` SGEMMs, transformed back by `Aᵀ`
//! along each axis, and added into the output. Per output that is `4^N/2^N` multiply-adds per
//! channel pair instead of `3^N`: 2.25× fewer in 2D, 3.4× fewer in 3D (Lavin & Gray 2016).
//!
//! The input gradient of a stride-1 3-tap layer is the same kind of convolution of the output
//! gradient, with the kernel flipped and its channels swapped and the padding mirrored (`2 − lo`),
//! so it runs through the same code.
//!
//! Matrices (correlation, Lavin's F(2,3)): `Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]`,
//! `G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]`, `Aᵀ = [1 1 1 0; 0 1 −1 −1]`.

use rayon::prelude::*;

use super::conv::SendPtr;
use super::gemm::{matmul, MatMut, MatRef, Threads};
use super::geometry::{unravel, Geometry};
use super::Tensor;

/// Fewest input and output channels for which Winograd is used (below, im2col wins).
pub const WINOGRAD_MIN_CHANNELS: usize = 16;
/// Floats of one block's transformed input and output together (about 4 MiB).
const BLOCK_FLOATS: usize = 1 << 20;
/// Fewest tiles in a block (the SGEMMs' column count).
const MIN_BLOCK_TILES: usize = 64;

/// Whether the Winograd path applies: rank 2 or 3, kernel 3, stride 1 and dilation 1 on every
/// axis, padding at most 2 on each side, and enough channels both ways.
pub(crate) fn applies<const N: usize>(g: &Geometry<N>, ci: usize, co: usize) -> bool {
    (2..=3).contains(&N)
        && (0..N).all(|d| {
            g.kernel[d] == 3 && g.stride[d] == 1 && g.dilation[d] == 1 && g.lo[d] <= 2 && g.hi[d] <= 2
        })
        && ci.min(co) >= WINOGRAD_MIN_CHANNELS
}

/// `4^N`.
const fn patch<const N: usize>() -> usize {
    4usize.pow(N as u32)
}

/// One convolution problem on a single batch item: `src` (`ci × src_dims`) into `dst` (`co × dst_dims`).
struct Plan<const N: usize> {
    src_dims: [usize; N],
    dst_dims: [usize; N],
    lo: [usize; N],
    tiles: [usize; N],
}

impl<const N: usize> Plan<N> {
    fn new(src_dims: [usize; N], dst_dims: [usize; N], lo: [usize; N]) -> Self {
        Plan { src_dims, dst_dims, lo, tiles: std::array::from_fn(|d| dst_dims[d].div_ceil(2)) }
    }
    fn tile_count(&self) -> usize {
        self.tiles.iter().product()
    }
}

/// `y[b, offset + co] += conv(x[b], w)` (the bias is already in `y`).
pub(crate) fn forward_into<const N: usize>(
    x: &Tensor<N>,
    w: &Tensor<N>,
    g: &Geometry<N>,
    y: &mut Tensor<N>,
    offset: usize,
) {
    let (co, ci) = (w.batch(), w.channels());
    let u = transform_weights::<N>(w.data(), co, ci);
    let plan = Plan::new(g.input, g.output, g.lo);
    let (pin, pout) = (g.in_positions(), g.out_positions());
    for b in 0..x.batch() {
        let dst = &mut y.item_mut(b)[offset * pout..(offset + co) * pout];
        run(&x.item(b)[..ci * pin], ci, co, &u, &plan, dst);
    }
}

/// `dx (+)= conv_backward_input(dy[channels offset..offset + Co], w)`.
pub(crate) fn backward_into<const N: usize>(
    dy: &Tensor<N>,
    offset: usize,
    w: &Tensor<N>,
    g: &Geometry<N>,
    dx: &mut Tensor<N>,
    accumulate: bool,
) {
    let (co, ci) = (w.batch(), w.channels());
    let taps = g.taps();
    // wf[ci, co, k] = w[co, ci, 2 − k] (every axis flipped, so the flat tap index reversed).
    let mut wf = vec![0.0f32; w.len()];
    for o in 0..co {
        for i in 0..ci {
            let s = &w.data()[(o * ci + i) * taps..(o * ci + i + 1) * taps];
            let d = &mut wf[(i * co + o) * taps..(i * co + o + 1) * taps];
            d.iter_mut().zip(s.iter().rev()).for_each(|(d, &s)| *d = s);
        }
    }
    let u = transform_weights::<N>(&wf, ci, co);
    let plan = Plan::new(g.output, g.input, std::array::from_fn(|d| 2 - g.lo[d]));
    let pout = g.out_positions();
    for b in 0..dy.batch() {
        let dst = dx.item_mut(b);
        if !accumulate {
            dst.fill(0.0);
        }
        run(&dy.item(b)[offset * pout..(offset + co) * pout], co, ci, &u, &plan, dst);
    }
}

/// `U[ξ][co][ci] = (G·w[co, ci]·Gᵀ)[ξ]` for `w: co × ci × 3^N` row-major.
fn transform_weights<const N: usize>(w: &[f32], co: usize, ci: usize) -> Vec<f32> {
    let (len, taps) = (co * ci, 3usize.pow(N as u32));
    // Element-major: a[k][co·ci].
    let mut a = vec![0.0f32; taps * len];
    for (j, kernel) in w.chunks_exact(taps).enumerate() {
        for (k, &v) in kernel.iter().enumerate() {
            a[k * len + j] = v;
        }
    }
    let mut dims = [3usize; N];
    for axis in 0..N {
        let mut out_dims = dims;
        out_dims[axis] = 4;
        let mut b = vec![0.0f32; out_dims.iter().product::<usize>() * len];
        along_axis(&a, &mut b, &dims, axis, 4, len, |s, d| {
            let ([g0, g1, g2], [o0, o1, o2, o3]) = (s, d) else { return };
            let n = g0.len();
            let (g1, g2, o0, o1, o2, o3) =
                (&g1[..n], &g2[..n], &mut o0[..n], &mut o1[..n], &mut o2[..n], &mut o3[..n]);
            for j in 0..n {
                let (x, y, z) = (g0[j], g1[j], g2[j]);
                o0[j] = x;
                o1[j] = 0.5 * (x + y + z);
                o2[j] = 0.5 * (x - y + z);
                o3[j] = z;
            }
        });
        a = b;
        dims = out_dims;
    }
    a
}

/// Apply a 1D transform along `axis` of a grid of rows (`dims`, each element a row of `len`
/// floats): `f(inputs, outputs)` gets the `dims[axis]` input rows and `n_out` output rows of one line.
fn along_axis<const N: usize>(
    src: &[f32],
    dst: &mut [f32],
    dims: &[usize; N],
    axis: usize,
    n_out: usize,
    len: usize,
    f: impl Fn(&[&[f32]], &mut [&mut [f32]]),
) {
    let outer: usize = dims[..axis].iter().product();
    let inner: usize = dims[axis + 1..].iter().product();
    let n_in = dims[axis];
    let mut ins: Vec<&[f32]> = Vec::with_capacity(n_in);
    for o in 0..outer {
        for i in 0..inner {
            ins.clear();
            ins.extend((0..n_in).map(|a| {
                let e = (o * n_in + a) * inner + i;
                &src[e * len..(e + 1) * len]
            }));
            // Output rows of this line, disjoint: element (o·n_out + a)·inner + i.
            let mut outs: Vec<&mut [f32]> = Vec::with_capacity(n_out);
            let mut rest: &mut [f32] = &mut dst[(o * n_out * inner + i) * len..];
            for a in 0..n_out {
                let (row, tail) = std::mem::take(&mut rest).split_at_mut(len);
                outs.push(row);
                if a + 1 < n_out {
                    rest = &mut tail[(inner - 1) * len..];
                }
            }
            f(&ins, &mut outs);
        }
    }
}

/// Reusable buffers of one block.
#[derive(Default)]
struct Buffers {
    v: Vec<f32>,
    v2: Vec<f32>,
    m: Vec<f32>,
    m2: Vec<f32>,
}

/// `dst (co × dst_dims) += conv(src (ci × src_dims))` with the transformed weights `u`.
fn run<const N: usize>(src: &[f32], ci: usize, co: usize, u: &[f32], plan: &Plan<N>, dst: &mut [f32]) {
    let tiles = plan.tile_count();
    let per_tile = patch::<N>() * (ci + co);
    let block = (BLOCK_FLOATS / per_tile).max(MIN_BLOCK_TILES).min(tiles.max(1));
    let blocks = tiles.div_ceil(block);
    let out = SendPtr(dst.as_mut_ptr());
    let dst_len = dst.len();
    let work = |bufs: &mut Buffers, j: usize, threads: Threads| {
        let (t0, t1) = (j * block, ((j + 1) * block).min(tiles));
        block_conv(src, ci, co, u, plan, t0, t1, bufs, out, dst_len, threads);
    };
    if blocks >= 2 * rayon::current_num_threads() {
        (0..blocks).into_par_iter().for_each_init(Buffers::default, |bufs, j| work(bufs, j, Threads::One));
    } else {
        let mut bufs = Buffers::default();
        (0..blocks).for_each(|j| work(&mut bufs, j, Threads::Pool));
    }
}

/// One block of tiles `t0..t1`: gather, transform, multiply, transform back, add into `dst`.
#[allow(clippy::too_many_arguments)]
fn block_conv<const N: usize>(
    src: &[f32],
    ci: usize,
    co: usize,
    u: &[f32],
    plan: &Plan<N>,
    t0: usize,
    t1: usize,
    bufs: &mut Buffers,
    out: SendPtr,
    dst_len: usize,
    threads: Threads,
) {
    let (nt, np) = (t1 - t0, patch::<N>());
    let vlen = ci * nt;
    bufs.v.resize(np * vlen, 0.0);
    bufs.v2.resize(np * vlen, 0.0);
    gather(src, ci, plan, t0, t1, &mut bufs.v);
    // Bᵀ along every axis, ping-ponging between the two buffers.
    let dims = [4usize; N];
    for axis in 0..N {
        along_axis(&bufs.v, &mut bufs.v2, &dims, axis, 4, vlen, |s, d| {
            let ([d0, d1, d2, d3], [o0, o1, o2, o3]) = (s, d) else { return };
            let n = d0.len();
            let (d1, d2, d3) = (&d1[..n], &d2[..n], &d3[..n]);
            let (o0, o1, o2, o3) = (&mut o0[..n], &mut o1[..n], &mut o2[..n], &mut o3[..n]);
            for j in 0..n {
                let (a, b, c, e) = (d0[j], d1[j], d2[j], d3[j]);
                o0[j] = a - c;
                o1[j] = b + c;
                o2[j] = c - b;
                o3[j] = b - e;
            }
        });
        std::mem::swap(&mut bufs.v, &mut bufs.v2);
    }
    let mlen = co * nt;
    bufs.m.resize(np * mlen, 0.0);
    for xi in 0..np {
        matmul(
            MatMut::row_major(&mut bufs.m[xi * mlen..(xi + 1) * mlen], co, nt),
            MatRef::row_major(&u[xi * co * ci..(xi + 1) * co * ci], co, ci),
            MatRef::row_major(&bufs.v[xi * vlen..(xi + 1) * vlen], ci, nt),
            false,
            threads,
        );
    }
    // Aᵀ along every axis: 4 → 2 values per axis.
    let mut dims = [4usize; N];
    for axis in 0..N {
        let mut out_dims = dims;
        out_dims[axis] = 2;
        bufs.m2.resize(out_dims.iter().product::<usize>() * mlen, 0.0);
        along_axis(&bufs.m, &mut bufs.m2, &dims, axis, 2, mlen, |s, d| {
            let ([m0, m1, m2, m3], [o0, o1]) = (s, d) else { return };
            let n = m0.len();
            let (m1, m2, m3, o0, o1) = (&m1[..n], &m2[..n], &m3[..n], &mut o0[..n], &mut o1[..n]);
            for j in 0..n {
                let (a, b, c, e) = (m0[j], m1[j], m2[j], m3[j]);
                o0[j] = a + b + c;
                o1[j] = b - c - e;
            }
        });
        std::mem::swap(&mut bufs.m, &mut bufs.m2);
        dims = out_dims;
    }
    scatter(&bufs.m[..(1 << N) * mlen], co, plan, t0, t1, out, dst_len);
}

/// `v[e][c][t] = src[c, 2·tile(t) + e − lo]` (zero outside) for the patch elements `e` of tiles `t0..t1`.
fn gather<const N: usize>(src: &[f32], ci: usize, plan: &Plan<N>, t0: usize, t1: usize, v: &mut [f32]) {
    let nt = t1 - t0;
    let pin: usize = plan.src_dims.iter().product();
    let mut strides = [1usize; N];
    for d in (0..N - 1).rev() {
        strides[d] = strides[d + 1] * plan.src_dims[d + 1];
    }
    // Each tile's patch origin (may be negative at the border) and whether the patch lies inside.
    let origins: Vec<([isize; N], bool)> = (t0..t1)
        .map(|t| {
            let idx = unravel(t, &plan.tiles);
            let o: [isize; N] = std::array::from_fn(|d| 2 * idx[d] as isize - plan.lo[d] as isize);
            let inside = (0..N).all(|d| o[d] >= 0 && o[d] + 4 <= plan.src_dims[d] as isize);
            (o, inside)
        })
        .collect();
    for e in 0..patch::<N>() {
        let ek = unravel(e, &[4usize; N]);
        let eoff: usize = (0..N).map(|d| ek[d] * strides[d]).sum();
        for c in 0..ci {
            let chan = &src[c * pin..(c + 1) * pin];
            let row = &mut v[(e * ci + c) * nt..(e * ci + c + 1) * nt];
            for (slot, (o, inside)) in row.iter_mut().zip(&origins) {
                *slot = if *inside {
                    let base: isize = (0..N).map(|d| o[d] * strides[d] as isize).sum();
                    chan[base as usize + eoff]
                } else {
                    let mut off = 0usize;
                    let mut ok = true;
                    for d in 0..N {
                        let i = o[d] + ek[d] as isize;
                        ok &= i >= 0 && i < plan.src_dims[d] as isize;
                        off += i.max(0) as usize * strides[d];
                    }
                    if ok {
                        chan[off]
                    } else {
                        0.0
                    }
                };
            }
        }
    }
}

/// `dst[c, 2·tile(t) + q] += r[q][c][t]` for the `2^N` tile outputs `q` inside the output.
fn scatter<const N: usize>(
    r: &[f32],
    co: usize,
    plan: &Plan<N>,
    t0: usize,
    t1: usize,
    out: SendPtr,
    dst_len: usize,
) {
    let nt = t1 - t0;
    let pout: usize = plan.dst_dims.iter().product();
    assert!(dst_len >= co * pout, "winograd: output buffer {dst_len} < {co}×{pout}");
    let mut strides = [1usize; N];
    for d in (0..N - 1).rev() {
        strides[d] = strides[d + 1] * plan.dst_dims[d + 1];
    }
    for (j, t) in (t0..t1).enumerate() {
        let idx = unravel(t, &plan.tiles);
        for q in 0..1usize << N {
            let qk = unravel(q, &[2usize; N]);
            if (0..N).any(|d| 2 * idx[d] + qk[d] >= plan.dst_dims[d]) {
                continue;
            }
            let pos: usize = (0..N).map(|d| (2 * idx[d] + qk[d]) * strides[d]).sum();
            for c in 0..co {
                // SAFETY: `pos < pout` and `c < co`, so the element lies inside `dst` (checked above);
                // tiles are disjoint, so no other block writes this output position.
                unsafe { *out.get().add(c * pout + pos) += r[(q * co + c) * nt + j] };
            }
        }
    }
}
