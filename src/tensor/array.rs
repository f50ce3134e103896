//! `Tensor<N>`: a dense row-major f32 array shaped `B × C × S_1 × … × S_N`.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::rng::Rng;

/// Values from which [`Tensor::per_channel`] fills channel planes in parallel.
const PAR_FILL: usize = 1 << 18;

/// A dense f32 tensor of shape `B × C × S_1 × … × S_N`, row-major (the last spatial axis is contiguous).
///
/// The spatial rank `N` is a const generic, so every operation is written once for all ranks.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor<const N: usize> {
    batch: usize,
    channels: usize,
    spatial: [usize; N],
    data: Vec<f32>,
}

/// A batch of 1D signals: `B × C × T`.
pub type Signal = Tensor<1>;
/// A batch of 2D images: `B × C × H × W`.
pub type Image = Tensor<2>;
/// A batch of 3D volumes: `B × C × D × H × W`.
pub type Volume = Tensor<3>;

impl<const N: usize> Tensor<N> {
    /// A tensor of zeros.
    pub fn zeros(batch: usize, channels: usize, spatial: [usize; N]) -> Self {
        let len = batch * channels * spatial.iter().product::<usize>();
        Tensor { batch, channels, spatial, data: vec![0.0; len] }
    }

    /// A tensor whose channel `c` (of every item) is filled with `value(c)`, written in one pass
    /// (no zeroing first), channel planes in parallel when there are many values.
    pub fn per_channel(
        batch: usize,
        channels: usize,
        spatial: [usize; N],
        value: impl Fn(usize) -> f32 + Sync,
    ) -> Self {
        let p = spatial.iter().product::<usize>();
        let len = batch * channels * p;
        let mut data = Vec::with_capacity(len);
        let fill =
            |(i, plane): (usize, &mut [MaybeUninit<f32>])| plane.fill(MaybeUninit::new(value(i % channels)));
        let slots = &mut data.spare_capacity_mut()[..len];
        if len >= PAR_FILL {
            slots.par_chunks_mut(p).enumerate().for_each(fill);
        } else {
            slots.chunks_mut(p.max(1)).enumerate().for_each(fill);
        }
        // SAFETY: the planes of `p` values cover all `len` slots, and each was written above.
        unsafe { data.set_len(len) };
        Tensor { batch, channels, spatial, data }
    }

    /// A tensor filled with `value`.
    pub fn full(batch: usize, channels: usize, spatial: [usize; N], value: f32) -> Self {
        let mut t = Self::zeros(batch, channels, spatial);
        t.data.fill(value);
        t
    }

    /// Wrap `data` (row-major) as a tensor; errors if the length does not match the shape.
    pub fn from_vec(batch: usize, channels: usize, spatial: [usize; N], data: Vec<f32>) -> Result<Self> {
        let len = batch * channels * spatial.iter().product::<usize>();
        if data.len() != len {
            return Err(Error::shape(
                "Tensor::from_vec",
                format!("shape {batch}×{channels}×{spatial:?} needs {len} values, got {}", data.len()),
            ));
        }
        Ok(Tensor { batch, channels, spatial, data })
    }

    /// A tensor of independent standard normal values scaled by `std`, fixed by `seed`.
    pub fn randn(batch: usize, channels: usize, spatial: [usize; N], std: f32, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let mut t = Self::zeros(batch, channels, spatial);
        t.data.iter_mut().for_each(|v| *v = std * rng.normal());
        t
    }

    /// A tensor of independent uniform values in `[lo, hi)`, fixed by `seed`.
    pub fn uniform(batch: usize, channels: usize, spatial: [usize; N], lo: f32, hi: f32, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let mut t = Self::zeros(batch, channels, spatial);
        t.data.iter_mut().for_each(|v| *v = rng.uniform_in(lo, hi));
        t
    }

    /// Batch size `B`.
    pub fn batch(&self) -> usize {
        self.batch
    }
    /// Channel count `C`.
    pub fn channels(&self) -> usize {
        self.channels
    }
    /// Spatial extent `[S_1, …, S_N]`.
    pub fn spatial(&self) -> [usize; N] {
        self.spatial
    }
    /// Number of spatial positions `P = S_1·…·S_N`.
    pub fn positions(&self) -> usize {
        self.spatial.iter().product()
    }
    /// Total number of values.
    pub fn len(&self) -> usize {
        self.data.len()
    }
    /// True when the tensor holds no values.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    /// The full shape `[B, C, S_1, …, S_N]` as a vector (for messages and file headers).
    pub fn dims(&self) -> Vec<usize> {
        let mut d = vec![self.batch, self.channels];
        d.extend_from_slice(&self.spatial);
        d
    }
    /// A readable shape such as `1×3×64×64`.
    pub fn shape_string(&self) -> String {
        self.dims().iter().map(|d| d.to_string()).collect::<Vec<_>>().join("×")
    }
    /// True when both tensors have the same shape.
    pub fn same_shape(&self, other: &Self) -> bool {
        self.batch == other.batch && self.channels == other.channels && self.spatial == other.spatial
    }

    /// All values, row-major.
    pub fn data(&self) -> &[f32] {
        &self.data
    }
    /// All values, row-major, mutable.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }
    /// The values, consuming the tensor.
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    /// Item `b` of the batch as a `C × P` row-major slice.
    pub fn item(&self, b: usize) -> &[f32] {
        let n = self.channels * self.positions();
        &self.data[b * n..(b + 1) * n]
    }
    /// Item `b` of the batch as a mutable `C × P` row-major slice.
    pub fn item_mut(&mut self, b: usize) -> &mut [f32] {
        let n = self.channels * self.positions();
        &mut self.data[b * n..(b + 1) * n]
    }
    /// Channel `c` of item `b` as a slice of `P` values.
    pub fn channel(&self, b: usize, c: usize) -> &[f32] {
        let p = self.positions();
        let start = (b * self.channels + c) * p;
        &self.data[start..start + p]
    }
    /// Channel `c` of item `b`, mutable.
    pub fn channel_mut(&mut self, b: usize, c: usize) -> &mut [f32] {
        let p = self.positions();
        let start = (b * self.channels + c) * p;
        &mut self.data[start..start + p]
    }

    /// Row-major offset of spatial index `idx` within one channel.
    pub fn spatial_offset(&self, idx: [usize; N]) -> usize {
        idx.iter().zip(&self.spatial).fold(0, |acc, (&i, &s)| acc * s + i)
    }
    /// Value at `[b, c, idx…]`.
    pub fn at(&self, b: usize, c: usize, idx: [usize; N]) -> f32 {
        self.channel(b, c)[self.spatial_offset(idx)]
    }
    /// Mutable value at `[b, c, idx…]`.
    pub fn at_mut(&mut self, b: usize, c: usize, idx: [usize; N]) -> &mut f32 {
        let off = self.spatial_offset(idx);
        &mut self.channel_mut(b, c)[off]
    }

    /// The same values under a new batch/channel/spatial split of equal size.
    pub fn reshape<const M: usize>(
        self,
        batch: usize,
        channels: usize,
        spatial: [usize; M],
    ) -> Result<Tensor<M>> {
        Tensor::from_vec(batch, channels, spatial, self.data)
    }

    /// Apply `f` to every value.
    pub fn map(&self, f: impl Fn(f32) -> f32) -> Self {
        Tensor { data: self.data.iter().map(|&v| f(v)).collect(), ..self.clone_shape() }
    }

    /// `self += alpha · other` (shapes must match).
    pub fn axpy(&mut self, alpha: f32, other: &Self) -> Result<()> {
        if !self.same_shape(other) {
            return Err(Error::shape(
                "Tensor::axpy",
                format!("{} vs {}", self.shape_string(), other.shape_string()),
            ));
        }
        self.data.iter_mut().zip(&other.data).for_each(|(a, b)| *a += alpha * b);
        Ok(())
    }

    /// Sum of `self · other` over all values (shapes must match).
    pub fn dot(&self, other: &Self) -> f64 {
        debug_assert!(self.same_shape(other));
        self.data.iter().zip(&other.data).map(|(&a, &b)| a as f64 * b as f64).sum()
    }

    /// Sum of all values, accumulated in f64.
    pub fn sum(&self) -> f64 {
        self.data.iter().map(|&v| v as f64).sum()
    }

    /// Largest absolute difference to `other` (shapes must match).
    pub fn max_abs_diff(&self, other: &Self) -> f32 {
        debug_assert!(self.same_shape(other));
        self.data.iter().zip(&other.data).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
    }

    /// True when every value is finite.
    pub fn all_finite(&self) -> bool {
        self.data.iter().all(|v| v.is_finite())
    }

    fn clone_shape(&self) -> Self {
        Tensor { batch: self.batch, channels: self.channels, spatial: self.spatial, data: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_channel_fills_every_plane_of_every_item() {
        for (batch, channels, side) in [(2, 3, 5), (2, 3, 400), (1, 4, 0)] {
            let t = Tensor::<2>::per_channel(batch, channels, [side, side], |c| c as f32 + 0.5);
            assert_eq!(t.len(), batch * channels * side * side);
            for b in 0..batch {
                for c in 0..channels {
                    assert!(t.channel(b, c).iter().all(|&v| v == c as f32 + 0.5), "item {b} channel {c}");
                }
            }
        }
    }

    #[test]
    fn indexing_is_row_major() {
        let t = Tensor::<2>::from_vec(1, 2, [2, 3], (0..12).map(|v| v as f32).collect()).unwrap();
        assert_eq!(t.at(0, 1, [1, 2]), 11.0);
        assert_eq!(t.at(0, 0, [1, 0]), 3.0);
        assert_eq!(t.channel(0, 1), &[6.0, 7.0, 8.0, 9.0, 10.0, 11.0]);
        assert!(Tensor::<1>::from_vec(1, 1, [3], vec![0.0; 2]).is_err());
        assert_eq!(t.shape_string(), "1×2×2×3");
    }
}
