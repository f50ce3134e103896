//! Winograd F(m,3)^N convolution (m = 2 or 4) for stride-1, undilated layers: 3-tap in 2D and 3D, any width from 3 in 1D (taps in groups of 3), vectorised across tiles.
//!
//! Each output tile of `m^N` positions reads an `a^N` input patch (`a = m + 2`). A block of tiles
//! is gathered into `V[ξ][ci][t]` (`a^N` matrices `Ci × tiles`), transformed by `Bᵀ` along each
//! axis in turn (every step elementwise over whole rows of the block, so it vectorises across
//! tiles and channels), multiplied by the transformed weights `U[ξ] = (G·w·Gᵀ)[ξ]` (`Co × Ci`) in
//! `a^N` SGEMMs, transformed back by `Aᵀ` along each axis, and added into the output. Per output
//! that is `(a/m)^N` multiply-adds per channel pair instead of `3^N`: with F(2,3) 2.25× fewer in 2D
//! and 3.4× in 3D, with F(4,3) 4× in 2D and 8× in 3D, at the price of more rounding (the F(4,3)
//! transforms have entries up to 8; Lavin & Gray 2016).
//!
//! The input gradient of a stride-1 3-tap layer is the same kind of convolution of the output
//! gradient, with the kernel flipped and its channels swapped and the padding mirrored (`2 − lo`),
//! so it runs through the same code.
//!
//! Matrices (correlation, Lavin's points 0, ±1, ±2, ∞):
//! - F(2,3): `Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]`, `G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]`,
//!   `Aᵀ = [1 1 1 0; 0 1 −1 −1]`.
//! - F(4,3): `Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]`,
//!   `G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1⁄24 1⁄12 ⅙; 1⁄24 −1⁄12 ⅙; 0 0 1]`,
//!   `Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]`.

use rayon::prelude::*;

use super::conv::SendPtr;
use super::gemm::{matmul, MatMut, MatRef, Threads};
use super::geometry::{row_strides, unravel, Geometry};
use super::prepared::{Derived, Prepared};
use super::simd::{self, Kernel};
use super::Tensor;

/// Fewest input and output channels for which Winograd is used (below, im2col wins).
pub const WINOGRAD_MIN_CHANNELS: usize = 16;
/// Floats of one block's transformed input and output together in 2D and 3D (1 MiB, so a block
/// stays in a core's L2 from its gather to its scatter): VGG16's convolutions at 256² took 12%
/// less time than with 4 MiB blocks, and 2 MiB or 512 KiB were slower.
const BLOCK_FLOATS: usize = 1 << 18;
/// The same in 1D, whose products are wider (channels times groups of taps): smaller blocks made
/// the ECG workload 3% slower.
const BLOCK_FLOATS_1D: usize = 1 << 20;
/// Fewest tiles in a block (the SGEMMs' column count).
const MIN_BLOCK_TILES: usize = 64;

/// Whether the Winograd path applies: stride 1 and dilation 1 on every axis, padding at most
/// `kernel − 1` on each side, enough channels both ways, and a kernel of 3 (rank 2 or 3) or of
/// at least 3 (rank 1: its taps in groups of 3, see [`groups`]).
pub(crate) fn applies<const N: usize>(g: &Geometry<N>, ci: usize, co: usize) -> bool {
    (1..=3).contains(&N)
        && (0..N).all(|d| {
            let k = g.kernel[d];
            (if N == 1 { k >= 3 } else { k == 3 })
                && g.stride[d] == 1
                && g.dilation[d] == 1
                && g.lo[d] < k
                && g.hi[d] < k
        })
        && ci.min(co) >= WINOGRAD_MIN_CHANNELS
}

/// Groups of 3 taps a rank-1 kernel of `k` taps is cut into (the last padded with zero taps):
/// `y[o] = Σ_g Σ_{j<3} w[3g + j]·x[o + 3g + j − lo]` is a sum of 3-tap convolutions of `x`
/// shifted by `3g`, and the sum over groups joins the sum over channels inside each product, so
/// a layer of width 9 costs 4.5 and one of width 11 costs 6 multiply-adds per output per channel
/// pair with F(4,3) instead of 9 and 11. Ranks 2 and 3 have one group.
fn groups<const N: usize>(g: &Geometry<N>) -> usize {
    if N == 1 {
        g.kernel[0].div_ceil(3)
    } else {
        1
    }
}

/// The transformed weights of a rank-1 kernel `w: co × ci × k` in groups of 3 taps, straight from
/// `w` (no grouped or flipped copy of a kernel that can be 185 MB): `U[ξ][r][g·C + c] =
/// Σ_j G[ξ][j]·tap(r, c, 3g + j)`, zero past the kernel's end, where `tap` reads `w` as it is
/// (`R = co`, `C = ci`) or, for the input gradient, flipped with its channels swapped
/// (`R = ci`, `C = co`, `tap(i, o, t) = w[o, i, k − 1 − t]`).
fn transform_grouped(tile: Tile, w: &[f32], co: usize, ci: usize, k: usize, flip: bool) -> Vec<f32> {
    let (groups, gm) = (k.div_ceil(3), tile.g());
    let (rows, cols) = if flip { (ci, co) } else { (co, ci) };
    let plane = rows * groups * cols;
    let tap = |r: usize, c: usize, t: usize| -> f32 {
        match (t < k, flip) {
            (false, _) => 0.0,
            (true, false) => w[(r * ci + c) * k + t],
            (true, true) => w[(c * ci + r) * k + k - 1 - t],
        }
    };
    let mut u = vec![0.0f32; tile.patch::<1>() * plane];
    u.par_chunks_mut(plane).enumerate().for_each(|(xi, out)| {
        let gx = gm[xi];
        for (r, row) in out.chunks_exact_mut(groups * cols).enumerate() {
            for (g, part) in row.chunks_exact_mut(cols).enumerate() {
                for (c, v) in part.iter_mut().enumerate() {
                    let t = 3 * g;
                    *v = gx[0] * tap(r, c, t) + gx[1] * tap(r, c, t + 1) + gx[2] * tap(r, c, t + 2);
                }
            }
        }
    });
    u
}

/// The tile along each axis: F(2,3) (2 outputs from 4 inputs) or F(4,3) (4 outputs from 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tile {
    F2,
    F4,
}

impl Tile {
    /// The tile for a layer with `output` positions per axis: F(4,3) where the kernel settings
    /// allow it and the layer has at least their `f4_min_tiles` of them (in rank 1, whose
    /// products are as wide as the channels times the groups, always), else F(2,3).
    fn choose<const N: usize>(output: &[usize; N]) -> Tile {
        let f4_tiles: usize = output.iter().map(|s| s.div_ceil(4)).product();
        let k = super::kernels::current();
        if k.winograd4 && (N == 1 || f4_tiles >= k.f4_min_tiles) {
            Tile::F4
        } else {
            Tile::F2
        }
    }
    /// Outputs per tile along an axis.
    const fn m(self) -> usize {
        match self {
            Tile::F2 => 2,
            Tile::F4 => 4,
        }
    }
    /// Inputs per tile along an axis (`m + 2`).
    const fn a(self) -> usize {
        self.m() + 2
    }
    /// Transformed elements per tile, `a^N`.
    fn patch<const N: usize>(self) -> usize {
        self.a().pow(N as u32)
    }
    /// The kernel transform `G` (`a × 3`).
    fn g(self) -> &'static [[f32; 3]] {
        const S: f32 = 1.0 / 6.0;
        const T: f32 = 1.0 / 12.0;
        const Q: f32 = 1.0 / 24.0;
        match self {
            Tile::F2 => &[[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]],
            Tile::F4 => {
                &[[0.25, 0.0, 0.0], [-S, -S, -S], [-S, S, -S], [Q, T, S], [Q, -T, S], [0.0, 0.0, 1.0]]
            }
        }
    }
}

/// One convolution problem on a single batch item: `src` (`ci × src_dims`) into `dst` (`co × dst_dims`).
struct Plan<const N: usize> {
    tile: Tile,
    src_dims: [usize; N],
    dst_dims: [usize; N],
    lo: [usize; N],
    tiles: [usize; N],
    /// Groups of 3 taps (rank 1, see [`groups`]); group `g` reads the source shifted by `3g`.
    groups: usize,
}

impl<const N: usize> Plan<N> {
    fn new(tile: Tile, src_dims: [usize; N], dst_dims: [usize; N], lo: [usize; N], groups: usize) -> Self {
        let tiles = std::array::from_fn(|d| dst_dims[d].div_ceil(tile.m()));
        Plan { tile, src_dims, dst_dims, lo, tiles, groups }
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
    prep: &Prepared,
) {
    let (co, ci, tile, groups) = (w.batch(), w.channels(), Tile::choose(&g.output), groups(g));
    let u = prep.get(Derived::Winograd { m: tile.m(), backward: false }, || {
        if N == 1 {
            transform_grouped(tile, w.data(), co, ci, g.kernel[0], false)
        } else {
            transform_weights::<N>(tile, w.data(), co, ci)
        }
    });
    let plan = Plan::new(tile, g.input, g.output, g.lo, groups);
    let (pin, pout) = (g.in_positions(), g.out_positions());
    for b in 0..x.batch() {
        let dst = &mut y.item_mut(b)[offset * pout..(offset + co) * pout];
        run(&x.item(b)[..ci * pin], ci, co, u, &plan, dst);
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
    prep: &Prepared,
) {
    let (co, ci, tile, groups) = (w.batch(), w.channels(), Tile::choose(&g.output), groups(g));
    let taps = g.taps();
    let u = prep.get(Derived::Winograd { m: tile.m(), backward: true }, || {
        if N == 1 {
            return transform_grouped(tile, w.data(), co, ci, g.kernel[0], true);
        }
        // wf[ci, co, k] = w[co, ci, 2 − k] (every axis flipped, so the flat tap index reversed).
        let mut wf = vec![0.0f32; w.len()];
        for o in 0..co {
            for i in 0..ci {
                let s = &w.data()[(o * ci + i) * taps..(o * ci + i + 1) * taps];
                let d = &mut wf[(i * co + o) * taps..(i * co + o + 1) * taps];
                d.iter_mut().zip(s.iter().rev()).for_each(|(d, &s)| *d = s);
            }
        }
        transform_weights::<N>(tile, &wf, ci, co)
    });
    let plan = Plan::new(tile, g.output, g.input, std::array::from_fn(|d| g.kernel[d] - 1 - g.lo[d]), groups);
    let pout = g.out_positions();
    for b in 0..dy.batch() {
        let dst = dx.item_mut(b);
        if !accumulate {
            dst.fill(0.0);
        }
        run(&dy.item(b)[offset * pout..(offset + co) * pout], co, ci, u, &plan, dst);
    }
}

/// `U[ξ][co][ci] = (G·w[co, ci]·Gᵀ)[ξ]` for `w: co × ci × 3^N` row-major, as one product
/// `U = K·Wᵀ` where `K[ξ][k] = Π_d G[ξ_d][k_d]` is `G` applied along every axis (`a^N × 3^N`).
fn transform_weights<const N: usize>(tile: Tile, w: &[f32], co: usize, ci: usize) -> Vec<f32> {
    let (len, taps, np, g) = (co * ci, 3usize.pow(N as u32), tile.patch::<N>(), tile.g());
    let k: Vec<f32> = (0..np * taps)
        .map(|i| {
            let (xi, t) = (unravel(i / taps, &[tile.a(); N]), unravel(i % taps, &[3usize; N]));
            (0..N).map(|d| g[xi[d]][t[d]]).product()
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
    line: Vec<f32>,
}

/// `dst (co × dst_dims) += conv(src (ci × src_dims))` with the transformed weights `u`.
fn run<const N: usize>(src: &[f32], ci: usize, co: usize, u: &[f32], plan: &Plan<N>, dst: &mut [f32]) {
    let tiles = plan.tile_count();
    let per_tile = plan.tile.patch::<N>() * (plan.groups * ci + co);
    let budget = if N == 1 { BLOCK_FLOATS_1D } else { BLOCK_FLOATS };
    let block = (budget / per_tile).max(MIN_BLOCK_TILES).min(tiles.max(1));
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
    let (nt, np) = (t1 - t0, plan.tile.patch::<N>());
    let pin: usize = plan.src_dims.iter().product();
    let pout: usize = plan.dst_dims.iter().product();
    assert!(src.len() >= ci * pin, "winograd: input buffer {} < {ci}×{pin}", src.len());
    assert!(dst_len >= co * pout, "winograd: output buffer {dst_len} < {co}×{pout}");
    let segs = segments(&plan.tiles, t0, t1);
    // The products' inner dimension: every group of taps of every source channel.
    let k = plan.groups * ci;
    let vlen = k * nt;
    bufs.v.resize(np * vlen, 0.0);
    for seg in &segs {
        for grp in 0..plan.groups {
            for c in 0..ci {
                let v = &mut bufs.v[(grp * ci + c) * nt..];
                gather(&src[c * pin..(c + 1) * pin], plan, seg, 3 * grp, v, vlen, &mut bufs.line);
            }
        }
    }
    simd::widest(Transform::<N> { tile: plan.tile, output: false, buf: &mut bufs.v[..np * vlen], row: vlen });
    let mlen = co * nt;
    bufs.m.resize(np * mlen, 0.0);
    let v = &bufs.v;
    let product = |xi: usize, m: &mut [f32], threads: Threads| {
        matmul(
            MatMut::row_major(m, co, nt),
            MatRef::row_major(&u[xi * co * k..(xi + 1) * co * k], co, k),
            MatRef::row_major(&v[xi * vlen..(xi + 1) * vlen], k, nt),
            false,
            threads,
        )
    };
    match threads {
        // Few blocks: the a^N products of a block are independent, so they are what runs in
        // parallel (a product of a few dozen tiles split between threads is mostly packing).
        Threads::Pool => bufs.m[..np * mlen]
            .par_chunks_mut(mlen)
            .enumerate()
            .for_each(|(xi, m)| product(xi, m, Threads::One)),
        Threads::One => {
            bufs.m.chunks_mut(mlen).take(np).enumerate().for_each(|(xi, m)| product(xi, m, threads))
        }
    }
    simd::widest(Transform::<N> { tile: plan.tile, output: true, buf: &mut bufs.m[..np * mlen], row: mlen });
    for seg in &segs {
        for c in 0..co {
            // SAFETY: `c < co` and `co·pout ≤ dst_len` (asserted above), so the channel lies inside
            // `dst`; scatter writes only the positions of this segment's tiles, which no other
            // block or segment covers.
            let chan = unsafe { out.get().add(c * pout) };
            scatter(&bufs.m[c * nt..], mlen, plan, seg, chan);
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

/// `count` rows `base + i·step` (each `n` long) of `buf`, disjoint and mutable; the rest empty.
fn rows_mut(buf: &mut [f32], base: usize, step: usize, n: usize, count: usize) -> [&mut [f32]; 6] {
    let mut rows: [&mut [f32]; 6] = Default::default();
    let mut rest = &mut buf[base..];
    for (i, row) in rows.iter_mut().take(count).enumerate() {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(if i + 1 < count { step } else { n });
        *row = &mut head[..n];
        rest = tail;
    }
    rows
}

/// The lines along axis `d` of an `a^N` patch, as the first element of each and the step between
/// its `a` elements; along the axes before `d` only the coordinates below `before` are visited.
fn lines<const N: usize>(a: usize, d: usize, before: usize) -> impl Iterator<Item = (usize, usize)> {
    let step = a.pow((N - 1 - d) as u32);
    (0..before.pow(d as u32)).flat_map(move |outer| {
        let (mut rem, mut first) = (outer, 0);
        for k in (0..d).rev() {
            first += (rem % before) * a.pow((N - 1 - k) as u32);
            rem /= before;
        }
        (0..step).map(move |inner| (first + inner, step))
    })
}

/// One channel's input patches for the tiles of `seg`, read `shift` positions further along the
/// last axis: patch element `ξ` of tile `j` goes to `v[ξ·row + seg.col + j]` (`v` starts at the
/// channel's row of element 0), zero outside the input.
fn gather<const N: usize>(
    chan: &[f32],
    plan: &Plan<N>,
    seg: &Segment<N>,
    shift: usize,
    v: &mut [f32],
    row: usize,
    line: &mut Vec<f32>,
) {
    let (m, a, n) = (plan.tile.m(), plan.tile.a(), seg.len);
    let st = row_strides(&plan.src_dims);
    let xs = plan.src_dims[N - 1] as isize;
    let x0 = (m * seg.first[N - 1] + shift) as isize - plan.lo[N - 1] as isize;
    // The source columns x0..x0 + width of every patch row, zero outside the input.
    let width = m * n + 2;
    let (from, to) = (x0.clamp(0, xs), (x0 + width as isize).clamp(0, xs));
    let whole = from == x0 && to == x0 + width as isize;
    // Where the inside columns land in the line; a run wholly in the padding (possible in 1D,
    // where a group of taps reads the source shifted) copies nothing.
    let (lo, hi) =
        ((from - x0).clamp(0, width as isize) as usize, (to - x0).clamp(0, width as isize) as usize);
    if !whole {
        // Only the columns inside the input are copied for each patch row; the padding stays zero.
        line.clear();
        line.resize(width, 0.0);
    }
    for e1 in 0..a.pow(N as u32 - 1) {
        // Leading patch coordinates of e1 (base a, last leading axis fastest) → source row.
        let (mut rem, mut off, mut inside) = (e1, 0usize, true);
        for d in (0..N - 1).rev() {
            let i = (m * seg.first[d] + rem % a) as isize - plan.lo[d] as isize;
            rem /= a;
            inside &= i >= 0 && i < plan.src_dims[d] as isize;
            off += i.max(0) as usize * st[d];
        }
        let rows = rows_mut(v, a * e1 * row + seg.col, row, n, a);
        if !inside {
            rows.into_iter().for_each(|r| r.fill(0.0));
            continue;
        }
        let src: &[f32] = if whole {
            &chan[off + from as usize..off + to as usize]
        } else {
            line[lo..hi].copy_from_slice(&chan[off + from as usize..off + to as usize]);
            line
        };
        match m {
            2 => deinterleave::<2>(&src[..width], rows),
            _ => deinterleave::<4>(&src[..width], rows),
        }
    }
}

/// `dst[m·tile + q] += out[q]` for one channel's tiles in `seg`, where output `q` (every
/// coordinate below `m`) of tile `j` is `buf[ξ(q)·row + seg.col + j]` and `dst` points at the channel.
fn scatter<const N: usize>(buf: &[f32], row: usize, plan: &Plan<N>, seg: &Segment<N>, dst: *mut f32) {
    let (m, a, n) = (plan.tile.m(), plan.tile.a(), seg.len);
    let st = row_strides(&plan.dst_dims);
    let x0 = m * seg.first[N - 1];
    let cols = (plan.dst_dims[N - 1] - x0).min(m * n);
    for q1 in 0..m.pow(N as u32 - 1) {
        // Leading output coordinates of q1 (base m) → patch element and output row.
        let (mut rem, mut e1, mut off, mut inside) = (q1, 0usize, 0usize, true);
        for d in (0..N - 1).rev() {
            let q = rem % m;
            rem /= m;
            e1 += q * a.pow((N - 2 - d) as u32);
            let i = m * seg.first[d] + q;
            inside &= i < plan.dst_dims[d];
            off += i * st[d];
        }
        if !inside {
            continue;
        }
        // SAFETY: the row `off` lies inside the channel (every coordinate was checked) and columns
        // `x0..x0 + cols` lie inside the row; the caller guarantees that no one else touches this
        // segment's outputs.
        let out = unsafe { std::slice::from_raw_parts_mut(dst.add(off + x0), cols) };
        let rows: [&[f32]; 4] =
            std::array::from_fn(|q| if q < m { &buf[(a * e1 + q) * row + seg.col..][..n] } else { &[] });
        match m {
            2 => add_interleaved::<2>(out, [rows[0], rows[1]]),
            _ => add_interleaved::<4>(out, rows),
        }
    }
}

/// Patch rows of a run of `n` tiles from `src` (`M·n + 2` values: the tiles' inputs and the last
/// tile's two extra): `rows[k][j] = src[M·j + k]` for `k < M + 2`. The first `M` rows are one
/// stride-`M` deinterleave (contiguous reads, which vectorise); the last two are rows 0 and 1 one
/// tile on.
#[inline(always)]
fn deinterleave<const M: usize>(src: &[f32], mut rows: [&mut [f32]; 6]) {
    let n = rows[0].len();
    debug_assert_eq!(src.len(), M * n + 2);
    let (head, tail) = rows.split_at_mut(M);
    let head: &mut [&mut [f32]; M] = head.try_into().expect("M rows");
    let tail: &mut [&mut [f32]] = &mut tail[..2];
    let head: [&mut [f32]; M] = std::array::from_fn(|k| &mut std::mem::take(&mut head[k])[..n]);
    for (j, s) in src[..M * n].chunks_exact(M).enumerate() {
        for k in 0..M {
            head[k][j] = s[k];
        }
    }
    for (k, r) in tail.iter_mut().enumerate() {
        let r = &mut r[..n];
        r[..n - 1].copy_from_slice(&head[k][1..n]);
        r[n - 1] = src[M * n + k];
    }
}

/// `out[M·j + q] += rows[q][j]`: the `M` output rows of a run of tiles added into one contiguous
/// row of the output (`out` may end inside the last tile).
#[inline(always)]
fn add_interleaved<const M: usize>(out: &mut [f32], rows: [&[f32]; M]) {
    let full = out.len() / M;
    let rows: [&[f32]; M] =
        std::array::from_fn(|q| &rows[q][..full + usize::from(!out.len().is_multiple_of(M))]);
    let (body, tail) = out.split_at_mut(full * M);
    for (j, o) in body.chunks_exact_mut(M).enumerate() {
        for q in 0..M {
            o[q] += rows[q][j];
        }
    }
    for (q, o) in tail.iter_mut().enumerate() {
        *o += rows[q][full];
    }
}

/// `Bᵀ` (input) or `Aᵀ` (output) along every axis of a block's `a^N` rows of `row` floats, in place.
/// After `Aᵀ` along an axis only its first `m` coordinates hold values.
struct Transform<'a, const N: usize> {
    tile: Tile,
    output: bool,
    buf: &'a mut [f32],
    row: usize,
}

impl<const N: usize> Kernel for Transform<'_, N> {
    #[inline(always)]
    fn run(self) {
        let (a, row) = (self.tile.a(), self.row);
        let before = if self.output { self.tile.m() } else { a };
        for d in 0..N {
            for (e, step) in lines::<N>(a, d, before) {
                let [r0, r1, r2, r3, r4, r5] = rows_mut(self.buf, e * row, step * row, row, a);
                match (self.tile, self.output) {
                    (Tile::F2, false) => bt2(r0, r1, r2, r3),
                    (Tile::F2, true) => at2(r0, r1, r2, r3),
                    (Tile::F4, false) => bt4(r0, r1, r2, r3, r4, r5),
                    (Tile::F4, true) => at4(r0, r1, r2, r3, r4, r5),
                }
            }
        }
    }
}

/// F(2,3) `Bᵀ` on four rows, in place.
#[inline(always)]
fn bt2(r0: &mut [f32], r1: &mut [f32], r2: &mut [f32], r3: &mut [f32]) {
    let n = r0.len();
    let (r1, r2, r3) = (&mut r1[..n], &mut r2[..n], &mut r3[..n]);
    for j in 0..n {
        let (d0, d1, d2, d3) = (r0[j], r1[j], r2[j], r3[j]);
        r0[j] = d0 - d2;
        r1[j] = d1 + d2;
        r2[j] = d2 - d1;
        r3[j] = d1 - d3;
    }
}

/// F(2,3) `Aᵀ` on four rows, in place: the two outputs go to rows 0 and 1.
#[inline(always)]
fn at2(r0: &mut [f32], r1: &mut [f32], r2: &mut [f32], r3: &mut [f32]) {
    let n = r0.len();
    let (r1, r2, r3) = (&mut r1[..n], &r2[..n], &r3[..n]);
    for j in 0..n {
        let (m0, m1, m2, m3) = (r0[j], r1[j], r2[j], r3[j]);
        r0[j] = m0 + m1 + m2;
        r1[j] = m1 - m2 - m3;
    }
}

/// F(4,3) `Bᵀ` on six rows, in place.
#[inline(always)]
fn bt4(r0: &mut [f32], r1: &mut [f32], r2: &mut [f32], r3: &mut [f32], r4: &mut [f32], r5: &mut [f32]) {
    let n = r0.len();
    let (r1, r2, r3, r4, r5) = (&mut r1[..n], &mut r2[..n], &mut r3[..n], &mut r4[..n], &mut r5[..n]);
    for j in 0..n {
        let (d0, d1, d2, d3, d4, d5) = (r0[j], r1[j], r2[j], r3[j], r4[j], r5[j]);
        r0[j] = 4.0 * (d0 - d2) + (d4 - d2);
        r1[j] = (d3 + d4) - 4.0 * (d1 + d2);
        r2[j] = (d4 - d3) + 4.0 * (d1 - d2);
        r3[j] = (d4 - d2) + 2.0 * (d3 - d1);
        r4[j] = (d4 - d2) - 2.0 * (d3 - d1);
        r5[j] = 4.0 * (d1 - d3) + (d5 - d3);
    }
}

/// F(4,3) `Aᵀ` on six rows, in place: the four outputs go to rows 0 to 3.
#[inline(always)]
fn at4(r0: &mut [f32], r1: &mut [f32], r2: &mut [f32], r3: &mut [f32], r4: &mut [f32], r5: &mut [f32]) {
    let n = r0.len();
    let (r1, r2, r3, r4, r5) = (&mut r1[..n], &mut r2[..n], &mut r3[..n], &r4[..n], &r5[..n]);
    for j in 0..n {
        let (s12, d12, s34, d34) = (r1[j] + r2[j], r1[j] - r2[j], r3[j] + r4[j], r3[j] - r4[j]);
        r0[j] += s12 + s34;
        r1[j] = d12 + 2.0 * d34;
        r2[j] = s12 + 4.0 * s34;
        r3[j] = d12 + 8.0 * d34 + r5[j];
    }
}
