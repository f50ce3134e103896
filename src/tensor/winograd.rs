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

/// `U[ξ][co][ci] = (G·w[co, ci]·Gᵀ)[ξ]` for `w: co × ci × 3^N` row-major, as one product
/// `U = K·Wᵀ` where `K[ξ][k] = Π_d G[ξ_d][k_d]` is `G` applied along every axis (`4^N × 3^N`).
fn transform_weights<const N: usize>(w: &[f32], co: usize, ci: usize) -> Vec<f32> {
    const G: [[f32; 3]; 4] = [[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]];
    let (len, taps, np) = (co * ci, 3usize.pow(N as u32), patch::<N>());
    let k: Vec<f32> = (0..np * taps)
        .map(|i| {
            let (xi, t) = (unravel(i / taps, &[4usize; N]), unravel(i % taps, &[3usize; N]));
            (0..N).map(|d| G[xi[d]][t[d]]).product()
        })
        .collect();
    let mut u = vec![0.0f32; np * len];
    matmul(
        MatMut::row_major(&mut u, np, len),
        MatRef::row_major(&k, np, taps),
        MatRef::row_major(w, len, taps).t(),
        false,
        Threads::Pool,
    );
    u
}

thread_local! {
    static BUFFERS: std::cell::RefCell<Buffers> = std::cell::RefCell::default();
}

/// Reusable buffers of one block.
#[derive(Default)]
struct Buffers {
    v: Vec<f32>,
    m: Vec<f32>,
    pad: Vec<f32>,
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
    // Each thread keeps its buffers from call to call, so steady-state evaluations allocate nothing here.
    // A thread that picks up another convolution while it waits inside a product (work stealing)
    // finds its buffers taken and uses fresh ones.
    let with_buffers = |f: &mut dyn FnMut(&mut Buffers)| {
        BUFFERS.with(|b| match b.try_borrow_mut() {
            Ok(mut bufs) => f(&mut bufs),
            Err(_) => f(&mut Buffers::default()),
        })
    };
    if blocks >= 2 * rayon::current_num_threads() {
        (0..blocks).into_par_iter().for_each(|j| with_buffers(&mut |bufs| work(bufs, j, Threads::One)));
    } else {
        with_buffers(&mut |bufs| (0..blocks).for_each(|j| work(bufs, j, Threads::Pool)));
    }
}

/// One block of tiles `t0..t1`: gather and transform, multiply, transform back and add into `dst`.
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
    let pin: usize = plan.src_dims.iter().product();
    let pout: usize = plan.dst_dims.iter().product();
    assert!(src.len() >= ci * pin, "winograd: input buffer {} < {ci}×{pin}", src.len());
    assert!(dst_len >= co * pout, "winograd: output buffer {dst_len} < {co}×{pout}");
    let segs = segments(&plan.tiles, t0, t1);
    let vlen = ci * nt;
    bufs.v.resize(np * vlen, 0.0);
    for seg in &segs {
        for c in 0..ci {
            input_segment(
                &src[c * pin..(c + 1) * pin],
                plan,
                seg,
                &mut bufs.v[c * nt..],
                vlen,
                &mut bufs.pad,
            );
        }
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
    for seg in &segs {
        for c in 0..co {
            // SAFETY: `c < co` and `co·pout ≤ dst_len` (asserted above), so the channel lies inside
            // `dst`; output_segment writes only the positions of this segment's tiles, which no
            // other block or segment covers.
            let chan = unsafe { out.get().add(c * pout) };
            output_segment(&mut bufs.m[c * nt..], mlen, plan, seg, chan);
        }
    }
}

/// A run of tiles along the last axis: the tile index of its first tile, its length, and its
/// first column in the block's buffers.
struct Segment<const N: usize> {
    first: [usize; N],
    len: usize,
    col: usize,
}

/// The tiles `t0..t1` (row-major over `tiles`) cut into runs along the last axis.
fn segments<const N: usize>(tiles: &[usize; N], t0: usize, t1: usize) -> Vec<Segment<N>> {
    let mut out = Vec::new();
    let mut t = t0;
    while t < t1 {
        let first = unravel(t, tiles);
        let len = (tiles[N - 1] - first[N - 1]).min(t1 - t);
        out.push(Segment { first, len, col: t - t0 });
        t += len;
    }
    out
}

/// Row strides (in elements) of a row-major grid `dims`.
fn strides<const N: usize>(dims: &[usize; N]) -> [usize; N] {
    let mut s = [1usize; N];
    for d in (0..N - 1).rev() {
        s[d] = s[d + 1] * dims[d + 1];
    }
    s
}

/// Every line of four patch elements along each leading axis in turn: its first element and the
/// step between its elements (axis `d` steps `4^(N−1−d)`).
fn leading_lines<const N: usize>() -> impl Iterator<Item = (usize, usize)> {
    (0..N - 1).flat_map(|d| {
        let step = 4usize.pow((N - 1 - d) as u32);
        (0..4usize.pow(d as u32))
            .flat_map(move |outer| (0..step).map(move |inner| (outer * 4 * step + inner, step)))
    })
}

/// The four rows `base + i·step` (`i < 4`, each `n` long) of `buf`, disjoint and mutable.
fn four_rows(buf: &mut [f32], base: usize, step: usize, n: usize) -> [&mut [f32]; 4] {
    let (_, rest) = buf.split_at_mut(base);
    let (r0, rest) = rest.split_at_mut(step);
    let (r1, rest) = rest.split_at_mut(step);
    let (r2, r3) = rest.split_at_mut(step);
    [&mut r0[..n], &mut r1[..n], &mut r2[..n], &mut r3[..n]]
}

/// The transformed input `Bᵀ·d·B` of one channel's tiles in `seg`: patch element `e`, tile `j`
/// goes to `v[e·row + seg.col + j]` (`v` starts at the channel's row of element 0).
fn input_segment<const N: usize>(
    chan: &[f32],
    plan: &Plan<N>,
    seg: &Segment<N>,
    v: &mut [f32],
    row: usize,
    pad: &mut Vec<f32>,
) {
    let n = seg.len;
    let st = strides(&plan.src_dims);
    let xs = plan.src_dims[N - 1] as isize;
    let x0 = 2 * seg.first[N - 1] as isize - plan.lo[N - 1] as isize;
    // The source columns x0..x0 + 2n + 2, zero outside, split into even and odd ones.
    let width = 2 * n + 2;
    pad.resize(2 * width, 0.0);
    let (line, halves) = pad.split_at_mut(width);
    let (even, odd) = halves.split_at_mut(n + 1);
    let (from, to) = (x0.clamp(0, xs), (x0 + width as isize).clamp(0, xs));
    let lead = patch::<N>() / 4;
    for e1 in 0..lead {
        // Leading patch coordinates of e1 (base 4, last leading axis fastest) → source row.
        let (mut rem, mut off, mut inside) = (e1, 0usize, true);
        for d in (0..N - 1).rev() {
            let i = 2 * seg.first[d] as isize + (rem % 4) as isize - plan.lo[d] as isize;
            rem /= 4;
            inside &= i >= 0 && i < plan.src_dims[d] as isize;
            off += i.max(0) as usize * st[d];
        }
        let [r0, r1, r2, r3] = four_rows(v, (4 * e1) * row + seg.col, row, n);
        if !inside {
            [r0, r1, r2, r3].into_iter().for_each(|r| r.fill(0.0));
            continue;
        }
        line.fill(0.0);
        if from < to {
            let (a, b) = ((from - x0) as usize, (to - x0) as usize);
            line[a..b].copy_from_slice(&chan[off + from as usize..off + to as usize]);
        }
        for (j, p) in line.chunks_exact(2).enumerate() {
            even[j] = p[0];
            odd[j] = p[1];
        }
        let (e0, e2, o1, o3) = (&even[..n], &even[1..=n], &odd[..n], &odd[1..=n]);
        for j in 0..n {
            r0[j] = e0[j] - e2[j];
            r1[j] = o1[j] + e2[j];
            r2[j] = e2[j] - o1[j];
            r3[j] = o1[j] - o3[j];
        }
    }
    // Bᵀ along each leading axis, in place: axis d steps 4^(N−1−d) patch elements.
    for (e, step) in leading_lines::<N>() {
        let [r0, r1, r2, r3] = four_rows(v, e * row + seg.col, step * row, n);
        for j in 0..n {
            let (a, b, c, e) = (r0[j], r1[j], r2[j], r3[j]);
            r0[j] = a - c;
            r1[j] = b + c;
            r2[j] = c - b;
            r3[j] = b - e;
        }
    }
}

/// `dst[2·tile + q] += (Aᵀ·m·A)[q]` for one channel's tiles in `seg`, where `m` holds patch element
/// `ξ`, tile `j` at `m[ξ·row + seg.col + j]` (overwritten) and `dst` points at the channel.
fn output_segment<const N: usize>(
    m: &mut [f32],
    row: usize,
    plan: &Plan<N>,
    seg: &Segment<N>,
    dst: *mut f32,
) {
    let n = seg.len;
    // Aᵀ along each leading axis, in place: rows 0 and 1 of each line receive the two outputs.
    for (e, step) in leading_lines::<N>() {
        let [r0, r1, r2, r3] = four_rows(m, e * row + seg.col, step * row, n);
        for j in 0..n {
            let (a, b, c, e) = (r0[j], r1[j], r2[j], r3[j]);
            r0[j] = a + b + c;
            r1[j] = b - c - e;
        }
    }
    let st = strides(&plan.dst_dims);
    let xd = plan.dst_dims[N - 1];
    let x0 = 2 * seg.first[N - 1];
    // Tiles whose two outputs along the last axis both lie inside, then at most one half tile.
    let full = ((xd - x0) / 2).min(n);
    let half = full < n && x0 + 2 * full < xd;
    let cols = 2 * full + usize::from(half);
    for q1 in 0..1usize << (N - 1) {
        // Leading output coordinates of q1 (base 2) → patch element rows and the output row.
        let (mut rem, mut e1, mut off, mut inside) = (q1, 0usize, 0usize, true);
        for d in (0..N - 1).rev() {
            let q = rem % 2;
            rem /= 2;
            e1 += q * 4usize.pow((N - 2 - d) as u32);
            let i = 2 * seg.first[d] + q;
            inside &= i < plan.dst_dims[d];
            off += i * st[d];
        }
        if !inside {
            continue;
        }
        let [m0, m1, m2, m3] = four_rows(m, 4 * e1 * row + seg.col, row, n);
        // SAFETY: the row `off` lies inside the channel (every coordinate was checked) and columns
        // `x0..x0 + cols` lie inside the row (`cols ≤ xd − x0`); the caller guarantees that no one
        // else touches this segment's outputs.
        let out = unsafe { std::slice::from_raw_parts_mut(dst.add(off + x0), cols) };
        for (j, pair) in out.chunks_exact_mut(2).enumerate() {
            pair[0] += m0[j] + m1[j] + m2[j];
            pair[1] += m1[j] - m2[j] - m3[j];
        }
        if half {
            out[cols - 1] += m0[full] + m1[full] + m2[full];
        }
    }
}
