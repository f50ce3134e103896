//! Small synthetic samples made by the project itself, so that every demo and test runs offline.

mod images;
pub mod painting;
pub mod samples;

pub use images::{checkerboard, landscape, stripes, waves};
pub use samples::generate;
