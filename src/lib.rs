//! ndstyle: neural style transfer for data of any spatial rank (1D signals, 2D images, 3D volumes).
//!
//! The core is [`tensor`]: a rank-generic `Tensor<N>` shaped `[batch, channels, spatial; N]` with
//! convolution, pooling, activations, Gram matrices and resampling, each with its backward pass.

pub mod budget;
pub mod config;
pub mod data;
pub mod datasets;
pub mod error;
pub mod experiment;
pub mod extractors;
pub mod heap;
pub mod io;
pub mod losses;
pub mod modality;
pub mod nn;
pub mod optim;
pub mod pipeline;
pub mod profile;
pub mod rank;
pub mod rng;
pub mod runner;
pub mod tensor;
pub mod tile;
pub mod visualize;
pub mod weights;

pub use error::{Error, Result};
pub use tensor::{Image, Signal, Tensor, Volume};
