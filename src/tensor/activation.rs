//! Rectified linear unit (ReLU) and its backward pass, elementwise on any rank.

use rayon::prelude::*;

use super::Tensor;

/// Tensors with at least this many values are processed in parallel.
const PAR_MIN: usize = 1 << 16;
/// Values per parallel task.
const CHUNK: usize = 1 << 14;

/// `y = max(x, 0)`, elementwise (a NaN input gives 0).
///
/// # Shapes
/// `x: B × C × S_1 × … × S_N` → `y` of the same shape.
pub fn relu<const N: usize>(x: &Tensor<N>) -> Tensor<N> {
    let mut y = x.clone();
    relu_inplace(&mut y);
    y
}

/// `x = max(x, 0)` in place (a NaN becomes 0).
///
/// # Shapes
/// Any `B × C × S_1 × … × S_N`; the shape is unchanged.
pub fn relu_inplace<const N: usize>(x: &mut Tensor<N>) {
    let clamp = |chunk: &mut [f32]| chunk.iter_mut().for_each(|v| *v = v.max(0.0));
    let data = x.data_mut();
    if data.len() >= PAR_MIN {
        data.par_chunks_mut(CHUNK).for_each(clamp);
    } else {
        clamp(data);
    }
}

/// The gradient of [`relu`] with respect to its input, given its output `y` and the gradient
/// `dy` at that output: `dx = dy` where `y > 0`, else `0` (the subgradient at 0 is taken as 0,
/// as PyTorch does).
///
/// # Shapes
/// `y, dy: B × C × S_1 × … × S_N` (equal) → `dx` of the same shape.
///
/// **Panics** if `y` and `dy` differ in shape.
#[track_caller]
pub fn relu_backward<const N: usize>(y: &Tensor<N>, dy: &Tensor<N>) -> Tensor<N> {
    let mut dx = dy.clone();
    relu_backward_inplace(y, &mut dx);
    dx
}

/// [`relu_backward`] in place: `g` (the gradient at the output `y`) becomes the gradient at the
/// input, with no new tensor.
///
/// # Shapes
/// `y, g: B × C × S_1 × … × S_N` (equal).
///
/// **Panics** if `y` and `g` differ in shape.
#[track_caller]
pub fn relu_backward_inplace<const N: usize>(y: &Tensor<N>, dx: &mut Tensor<N>) {
    assert!(y.same_shape(dx), "relu_backward: output {} vs gradient {}", y.shape_string(), dx.shape_string());
    let mask = |(g, y): (&mut [f32], &[f32])| {
        // A select, not a branch: the sign pattern of activations is close to random, and the
        // select vectorises (NaN compares false, so it gives 0 too).
        g.iter_mut().zip(y).for_each(|(g, &v)| *g = if v > 0.0 { *g } else { 0.0 })
    };
    if dx.len() >= PAR_MIN {
        dx.data_mut().par_chunks_mut(CHUNK).zip(y.data().par_chunks(CHUNK)).for_each(mask);
    } else {
        mask((dx.data_mut(), y.data()));
    }
}
