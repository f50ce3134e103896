//! Rank-generic tensors and the operations style transfer needs, each forward with its backward.
//!
//! Shapes are written `B × C × S_1 × … × S_N` with spatial rank `N` in 1..=3.

pub mod activation;
mod array;
pub mod conv;
mod conv_shift;
pub mod gemm;
pub mod geometry;
pub mod gram;
pub mod kernels;
pub mod pool;
mod prepared;
pub mod resample;
pub mod shrink;
mod simd;
pub mod slice;
mod unfold;
pub mod winograd;

pub use array::{Image, Signal, Tensor, Volume};
pub use geometry::{Padding, Window};
pub use prepared::Prepared;
