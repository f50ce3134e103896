//! Gram matrices `G = scale · F·Fᵀ` of feature maps (one per batch item) and their backward pass.
//!
//! `F` is an item's `C × P` feature matrix (channels by spatial positions, `P = S_1·…·S_N`),
//! which is exactly the row-major layout of a [`Tensor`] item, so no copy is made. How `G` is
//! normalised (by `C`, `P`, both, or not at all) is the caller's choice, passed as `scale`.

use rayon::prelude::*;

use super::gemm::{matmul, matmul_scaled, MatMut, MatRef, Threads};
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
/// Floats of `F` per parallel chunk of positions (about 1 MiB, so a chunk stays in L2).
const GRAM_CHUNK_FLOATS: usize = 256 << 10;

/// `G_b = scale · F_b·F_bᵀ` for every batch item `b`, where `F_b` is the item's `C × P` matrix.
///
/// Computed as a symmetric rank-k update: only the blocks on and above the diagonal are multiplied
/// (about half the work for `C ≫` [`GRAM_BLOCK`]), then mirrored, so `G` is exactly symmetric.
/// Bands of rows (many channels) or chunks of positions (few channels, each into its own
/// accumulator) run in parallel.
///
/// # Shapes
/// `x: B × C × S_1 × … × S_N` → `B` matrices `C × C`.
pub fn gram<const N: usize>(x: &Tensor<N>, scale: f32) -> Gram {
    let (c, p) = (x.channels(), x.positions());
    let mut g = Gram::zeros(x.batch(), c);
    for b in 0..x.batch() {
        let out = g.item_mut(b);
        if c <= GRAM_BLOCK || !super::kernels::current().syrk {
            let f = MatRef::row_major(x.item(b), c, p);
            matmul_scaled(MatMut::row_major(out, c, c), f, f.t(), scale, Threads::Pool);
        } else {
            syrk_upper(x.item(b), c, p, out);
            if scale != 1.0 {
                (0..c).for_each(|i| out[i * c + i..(i + 1) * c].iter_mut().for_each(|v| *v *= scale));
            }
            mirror_upper(out, c);
        }
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

/// `out`'s upper block triangle `= F·Fᵀ` for `F: C × P` row-major (below it: garbage or zeros).
fn syrk_upper(f: &[f32], c: usize, p: usize, out: &mut [f32]) {
    // One band of rows r0..r0+rows: only its columns from r0 on are multiplied.
    let band = |dst: &mut [f32], r0: usize, p0: usize, p1: usize, acc: bool, threads: Threads| {
        let rows = GRAM_BLOCK.min(c - r0);
        let a = MatRef::strided(&f[r0 * p + p0..], rows, p1 - p0, p, 1);
        let bt = MatRef::strided(&f[r0 * p + p0..], c - r0, p1 - p0, p, 1).t();
        matmul(MatMut::strided(&mut dst[r0..], rows, c - r0, c, 1), a, bt, acc, threads);
    };
    let threads = rayon::current_num_threads();
    if c >= ROW_SPLIT_CHANNELS {
        // Bands in parallel over all positions, each written once into its own rows: no
        // per-thread accumulators (64 MiB each at 4096 channels) and no reduction.
        out.par_chunks_mut(GRAM_BLOCK * c)
            .enumerate()
            .for_each(|(i, rows)| band(rows, i * GRAM_BLOCK, 0, p, false, Threads::One));
        return;
    }
    let chunk = (GRAM_CHUNK_FLOATS / c).max(256).min(p.max(1));
    let chunks = p.div_ceil(chunk);
    let upper = |acc: &mut [f32], p0: usize, p1: usize, threads: Threads| {
        for r0 in (0..c).step_by(GRAM_BLOCK) {
            band(&mut acc[r0 * c..], r0, p0, p1, true, threads);
        }
    };
    out.fill(0.0);
    if chunks < 2 * threads {
        (0..chunks).for_each(|j| upper(out, j * chunk, ((j + 1) * chunk).min(p), Threads::Pool));
        return;
    }
    let sum = (0..chunks)
        .into_par_iter()
        .fold(
            || vec![0.0f32; c * c],
            |mut acc, j| {
                upper(&mut acc, j * chunk, ((j + 1) * chunk).min(p), Threads::One);
                acc
            },
        )
        .reduce_with(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
            a
        });
    if let Some(sum) = sum {
        out.copy_from_slice(&sum);
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
    assert!(
        dg.batch == x.batch() && dg.channels == x.channels(),
        "gram_backward_symmetric: gradient {}×{c}×{c} for features {}",
        dg.batch,
        x.shape_string(),
        c = dg.channels,
    );
    let (c, p) = (x.channels(), x.positions());
    let mut dx = Tensor::zeros(x.batch(), c, x.spatial());
    for b in 0..x.batch() {
        matmul_scaled(
            MatMut::row_major(dx.item_mut(b), c, p),
            MatRef::row_major(dg.item(b), c, c),
            MatRef::row_major(x.item(b), c, p),
            2.0 * scale,
            Threads::Pool,
        );
    }
    dx
}
