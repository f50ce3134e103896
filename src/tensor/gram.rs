//! Gram matrices `G = scale · F·Fᵀ` of feature maps (one per batch item) and their backward pass.
//!
//! `F` is an item's `C × P` feature matrix (channels by spatial positions, `P = S_1·…·S_N`),
//! which is exactly the row-major layout of a [`Tensor`] item, so no copy is made. How `G` is
//! normalised (by `C`, `P`, both, or not at all) is the caller's choice, passed as `scale`.

use super::gemm::{matmul, MatMut, MatRef, Threads};
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

/// `G_b = scale · F_b·F_bᵀ` for every batch item `b`, where `F_b` is the item's `C × P` matrix.
///
/// # Shapes
/// `x: B × C × S_1 × … × S_N` → `B` matrices `C × C`.
pub fn gram<const N: usize>(x: &Tensor<N>, scale: f32) -> Gram {
    let (c, p) = (x.channels(), x.positions());
    let mut g = Gram::zeros(x.batch(), c);
    for b in 0..x.batch() {
        let f = MatRef::row_major(x.item(b), c, p);
        matmul(MatMut::row_major(g.item_mut(b), c, c), f, f.t(), false, Threads::Pool);
    }
    if scale != 1.0 {
        g.data.iter_mut().for_each(|v| *v *= scale);
    }
    g
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
    assert!(
        dg.batch == x.batch() && dg.channels == x.channels(),
        "gram_backward: gradient {}×{c}×{c} for features {}",
        dg.batch,
        x.shape_string(),
        c = dg.channels,
    );
    let (c, p) = (x.channels(), x.positions());
    let mut dx = Tensor::zeros(x.batch(), c, x.spatial());
    let mut sym = vec![0.0f32; c * c];
    for b in 0..x.batch() {
        let dgb = dg.item(b);
        for i in 0..c {
            for j in 0..c {
                sym[i * c + j] = scale * (dgb[i * c + j] + dgb[j * c + i]);
            }
        }
        matmul(
            MatMut::row_major(dx.item_mut(b), c, p),
            MatRef::row_major(&sym, c, c),
            MatRef::row_major(x.item(b), c, p),
            false,
            Threads::Pool,
        );
    }
    dx
}
