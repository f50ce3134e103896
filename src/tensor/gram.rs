//! Gram matrices `G = scale · F·Fᵀ` of feature maps (one per batch item) and their backward pass.
//!
//! `F` is an item's `C × P` feature matrix (channels by spatial positions, `P = S_1·…·S_N`),
//! which is exactly the row-major layout of a [`Tensor`] item, so no copy is made. How `G` is
//! normalised (by `C`, `P`, both, or not at all) is the caller's choice, passed as `scale`.

use rayon::prelude::*;

use super::conv::SendPtr;
use super::gemm::{matmul, product, MatMut, MatRef, Threads};
use super::Tensor;
use crate::error::{Error, Result};

/// A batch of `C × C` Gram matrices, stored `B × C × C` row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Gram {
    batch: usize,
    channels: usize,
    data: Vec<f32>,
}

impl Gram {
    /// A batch of zero matrices.
    pub fn zeros(batch: usize, channels: usize) -> Self {
        Gram { batch, channels, data: vec![0.0; batch * channels * channels] }
    }
    /// Wrap `data` (`B × C × C` row-major); errors if the length does not match.
    pub fn from_vec(batch: usize, channels: usize, data: Vec<f32>) -> Result<Self> {
        let len = batch * channels * channels;
        if data.len() != len {
            return Err(Error::shape(
                "Gram::from_vec",
                format!("{batch}×{channels}×{channels} needs {len} values, got {}", data.len()),
            ));
        }
        Ok(Gram { batch, channels, data })
    }
    /// Batch size `B`.
    pub fn batch(&self) -> usize {
        self.batch
    }
    /// Channel count `C` (each matrix is `C × C`).
    pub fn channels(&self) -> usize {
        self.channels
    }
    /// All values, `B × C × C` row-major.
    pub fn data(&self) -> &[f32] {
        &self.data
    }
    /// All values, mutable.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }
    /// The values, consuming the Gram batch.
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }
    /// The matrix of item `b`, `C × C` row-major.
    pub fn item(&self, b: usize) -> &[f32] {
        let n = self.channels * self.channels;
        &self.data[b * n..(b + 1) * n]
    }
    /// The matrix of item `b`, mutable.
    pub fn item_mut(&mut self, b: usize) -> &mut [f32] {
        let n = self.channels * self.channels;
        &mut self.data[b * n..(b + 1) * n]
    }
    /// Entry `(i, j)` of the matrix of item `b`.
    pub fn at(&self, b: usize, i: usize, j: usize) -> f32 {
        self.item(b)[i * self.channels + j]
    }
}

/// Rows per block of the symmetric product: blocks of rows multiply only the columns from their
/// first row on (the upper triangle and the diagonal blocks), the rest is mirrored.
pub const GRAM_BLOCK: usize = 64;
/// Channels from which [`gram`] splits rows of `G` between threads instead of positions: one
/// `C × C` accumulator per thread, summed afterwards, costs more than it saves beyond this.
pub const ROW_SPLIT_CHANNELS: usize = 512;
/// Floats of `F` per chunk of positions (about 1 MiB, so a chunk stays in L2).
const GRAM_CHUNK_FLOATS: usize = 256 << 10;
/// Fewest positions in a chunk (the products' inner dimension).
const MIN_CHUNK: usize = 256;

/// `G_b = scale · F_b·F_bᵀ` for every batch item `b`, where `F_b` is the item's `C × P` matrix.
///
/// Positions are taken in chunks, each copied into a buffer whose row stride is not a power of
/// two: the products read `F` down its columns, and rows a power of two apart (65 536 positions
/// at 256², 1024 at 32²) all fall in one cache set, which made a 64-channel Gram 3× slower than
/// its arithmetic. With the symmetric product on (the default), only the blocks on and above the
/// diagonal are multiplied (about half the work for `C ≫` [`GRAM_BLOCK`]), then mirrored, so `G`
/// is exactly symmetric. Bands of rows (many channels) or chunks of positions (few channels, each
/// into its own accumulator) run in parallel.
///
/// # Shapes
/// `x: B × C × S_1 × … × S_N` → `B` matrices `C × C`.
pub fn gram<const N: usize>(x: &Tensor<N>, scale: f32) -> Gram {
    let (c, p) = (x.channels(), x.positions());
    let mut g = Gram::zeros(x.batch(), c);
    let syrk = super::kernels::current().syrk;
    for b in 0..x.batch() {
        let out = g.item_mut(b);
        gram_upper(x.item(b), c, p, out, syrk);
        if scale != 1.0 {
            (0..c).for_each(|i| out[i * c + i..(i + 1) * c].iter_mut().for_each(|v| *v *= scale));
        }
        mirror_upper(out, c);
    }
    g
}

/// Side of the square tiles in which [`mirror_upper`] and [`symmetrize`] transpose: a tile's rows
/// and columns both stay in L1, where a row-by-row transpose of a 4096² matrix misses on every read.
const TRANSPOSE_TILE: usize = 32;

/// Copy the upper triangle of the `c × c` row-major `m` onto its lower triangle, tile by tile.
fn mirror_upper(m: &mut [f32], c: usize) {
    for i0 in (0..c).step_by(TRANSPOSE_TILE) {
        for j0 in (0..=i0).step_by(TRANSPOSE_TILE) {
            for i in i0..(i0 + TRANSPOSE_TILE).min(c) {
                for j in j0..(j0 + TRANSPOSE_TILE).min(i) {
                    m[i * c + j] = m[j * c + i];
                }
            }
        }
    }
}

/// `out = scale · (m + mᵀ)` for the `c × c` row-major `m`, tile by tile.
fn symmetrize(m: &[f32], c: usize, scale: f32, out: &mut [f32]) {
    for i0 in (0..c).step_by(TRANSPOSE_TILE) {
        for j0 in (0..c).step_by(TRANSPOSE_TILE) {
            for i in i0..(i0 + TRANSPOSE_TILE).min(c) {
                for j in j0..(j0 + TRANSPOSE_TILE).min(c) {
                    out[i * c + j] = scale * (m[i * c + j] + m[j * c + i]);
                }
            }
        }
    }
}

/// Positions per chunk for `c` channels (a multiple of 32) and the chunk buffer's row stride (16
/// more, so that it is never a power of two).
fn chunking(c: usize, p: usize) -> (usize, usize) {
    let w = (GRAM_CHUNK_FLOATS / c.max(1)).max(MIN_CHUNK).min(p.max(1)).next_multiple_of(32);
    (w, w + 16)
}

/// Columns `p0..p1` of the row-major `F: c × p` into `buf` with row stride `ws`, rows in parallel
/// when `threads` is the pool.
fn copy_chunk(f: &[f32], p: usize, p0: usize, p1: usize, ws: usize, buf: &mut [f32], threads: Threads) {
    let w = p1 - p0;
    let copy = |(i, row): (usize, &mut [f32])| row[..w].copy_from_slice(&f[i * p + p0..i * p + p1]);
    match threads {
        Threads::Pool => buf.par_chunks_mut(ws).enumerate().for_each(copy),
        Threads::One => buf.chunks_mut(ws).enumerate().for_each(copy),
    }
}

/// One chunk of positions of `F`: `c × w` in a buffer of row stride `ws`.
struct Chunk<'a> {
    f: &'a [f32],
    c: usize,
    w: usize,
    ws: usize,
}

impl Chunk<'_> {
    /// `out`'s upper block triangle `(+)= F·Fᵀ`, or all of `out` when `syrk` is off: bands of
    /// [`GRAM_BLOCK`] rows, each from its first row on (or from 0), on `threads`.
    fn product(&self, out: &mut [f32], syrk: bool, acc: bool, threads: Threads) {
        let Chunk { f, c, w, ws } = *self;
        let band = |(i, dst): (usize, &mut [f32])| {
            let r0 = i * GRAM_BLOCK;
            let (rows, first) = (GRAM_BLOCK.min(c - r0), if syrk { r0 } else { 0 });
            let a = MatRef::strided(&f[r0 * ws..], rows, w, ws, 1);
            let bt = MatRef::strided(&f[first * ws..], c - first, w, ws, 1).t();
            matmul(MatMut::strided(&mut dst[first..], rows, c - first, c, 1), a, bt, acc, Threads::One);
        };
        match threads {
            Threads::Pool => out.par_chunks_mut(GRAM_BLOCK * c).enumerate().for_each(band),
            Threads::One => out.chunks_mut(GRAM_BLOCK * c).enumerate().for_each(band),
        }
    }
}

/// `out`'s upper block triangle `= F·Fᵀ` for `F: C × P` row-major (below it: garbage or zeros),
/// or all of `out` when `syrk` is off.
fn gram_upper(f: &[f32], c: usize, p: usize, out: &mut [f32], syrk: bool) {
    let (w, ws) = chunking(c, p);
    let chunks = p.div_ceil(w);
    let span = |j: usize| (j * w, ((j + 1) * w).min(p));
    if c >= ROW_SPLIT_CHANNELS || chunks < 2 * rayon::current_num_threads() {
        // Chunks in turn, the bands of each in parallel, each written only into its own rows: no
        // per-thread accumulators (64 MiB each at 4096 channels) and no reduction.
        let mut buf = vec![0.0f32; c * ws];
        for j in 0..chunks {
            let (p0, p1) = span(j);
            copy_chunk(f, p, p0, p1, ws, &mut buf, Threads::Pool);
            Chunk { f: &buf, c, w: p1 - p0, ws }.product(out, syrk, j > 0, Threads::Pool);
        }
        if chunks == 0 {
            out.fill(0.0);
        }
        return;
    }
    let sum = (0..chunks)
        .into_par_iter()
        .fold(
            || (vec![0.0f32; c * c], vec![0.0f32; c * ws]),
            |(mut acc, mut buf), j| {
                let (p0, p1) = span(j);
                copy_chunk(f, p, p0, p1, ws, &mut buf, Threads::One);
                Chunk { f: &buf, c, w: p1 - p0, ws }.product(&mut acc, syrk, true, Threads::One);
                (acc, buf)
            },
        )
        .map(|(acc, _)| acc)
        .reduce_with(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
            a
        });
    match sum {
        Some(sum) => out.copy_from_slice(&sum),
        None => out.fill(0.0),
    }
}

/// The gradient of [`gram`] with respect to its input, given the gradient `dg` at its output:
/// `dF_b = scale · (dG_b + dG_bᵀ) · F_b` (as in jcjohnson/neural-style's `GramMatrix`).
///
/// # Shapes
/// `x: B × C × S_1 × … × S_N` (the input of [`gram`]), `dg: B × C × C` → `dx` shaped like `x`.
///
/// **Panics** if `dg` is not `B × C × C` for the `B` and `C` of `x`.
#[track_caller]
pub fn gram_backward<const N: usize>(x: &Tensor<N>, dg: &Gram, scale: f32) -> Tensor<N> {
    let c = dg.channels;
    let mut half = Gram::zeros(dg.batch, c);
    for b in 0..dg.batch {
        symmetrize(dg.item(b), c, 0.5, half.item_mut(b));
    }
    // scale·(dG + dGᵀ)·F = 2·scale·((dG + dGᵀ)/2)·F.
    gram_backward_symmetric(x, &half, scale)
}

/// [`gram_backward`] for a symmetric `dg`, as every Gram loss has (a difference of Gram matrices):
/// `dF_b = 2·scale · dG_b · F_b`, without forming `dG + dGᵀ` (a pass over `C²` values that costs
/// a tenth of a 4096-channel evaluation). For a `dg` that is not symmetric this is the gradient
/// of the loss through `(dG + dGᵀ)/2`.
///
/// **Panics** if `dg` is not `B × C × C` for the `B` and `C` of `x`.
#[track_caller]
pub fn gram_backward_symmetric<const N: usize>(x: &Tensor<N>, dg: &Gram, scale: f32) -> Tensor<N> {
    let mut dx = Tensor::zeros(x.batch(), x.channels(), x.spatial());
    backward_into(x, dg, scale, &mut dx, false);
    dx
}

/// `dx += 2·scale·dG_b·F_b`: [`gram_backward_symmetric`] added straight into a gradient that
/// other terms already fill (no tensor of its own and no addition pass).
///
/// **Panics** if `dg` is not `B × C × C` for the `B` and `C` of `x`, or `dx` is not shaped like `x`.
#[track_caller]
pub fn gram_backward_add<const N: usize>(x: &Tensor<N>, dg: &Gram, scale: f32, dx: &mut Tensor<N>) {
    assert!(
        x.same_shape(dx),
        "gram_backward_add: features {} vs gradient {}",
        x.shape_string(),
        dx.shape_string()
    );
    backward_into(x, dg, scale, dx, true);
}

/// `dx (+)= 2·scale·dG_b·F_b` for every item.
#[track_caller]
fn backward_into<const N: usize>(x: &Tensor<N>, dg: &Gram, scale: f32, dx: &mut Tensor<N>, accumulate: bool) {
    assert!(
        dg.batch == x.batch() && dg.channels == x.channels(),
        "gram_backward: gradient {}×{c}×{c} for features {}",
        dg.batch,
        x.shape_string(),
        c = dg.channels,
    );
    let (c, p) = (x.channels(), x.positions());
    // Chunks of positions in parallel, each product on one thread: a product of few rows split
    // between threads by the SGEMM itself ran at half the speed.
    let (w, _) = chunking(c, p);
    for b in 0..x.batch() {
        let (dst, dg, f) = (SendPtr(dx.item_mut(b).as_mut_ptr()), dg.item(b), x.item(b));
        (0..p.div_ceil(w)).into_par_iter().for_each(|j| {
            let (p0, p1) = (j * w, ((j + 1) * w).min(p));
            // SAFETY: chunk j reads and writes only columns p0..p1 of the item's c × p gradient,
            // which no other chunk touches, and the view stays inside the item (c rows of stride p).
            unsafe {
                product(
                    dst.get().add(p0),
                    c,
                    p1 - p0,
                    p,
                    1,
                    MatRef::row_major(dg, c, c),
                    MatRef::strided(&f[p0..], c, p1 - p0, p, 1),
                    accumulate,
                    2.0 * scale,
                    Threads::One,
                )
            };
        });
    }
}
