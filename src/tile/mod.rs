//! Tiled evaluation: any input size in memory bounded by the tile, with the exact objective and gradient.
//!
//! Gram matrices are sums over positions, and content and total-variation costs are sums too, so
//! the objective of a large input splits exactly over tiles (see `losses::tiled` for the two
//! passes). What this module decides is the geometry, once for every rank:
//!
//! - **Ownership.** Along each axis, tile cores of `T` input positions start on multiples of the
//!   network's total stride `S` (`T` is rounded up to a multiple of `S`). A loss layer with
//!   cumulative stride `s` gives its position `o` to the tile whose core holds input coordinate
//!   `o·s`, the last tile taking the rest; so the tiles partition every loss layer's grid.
//! - **Halo.** A tile's forward pass reads the union of the exact receptive fields
//!   ([`crate::nn::receptive::receptive_field_at`]) of the positions it owns, clipped to the input,
//!   its start rounded down to a multiple of `S`, so that its layer grids align with the global
//!   ones at every depth (max pooling and strided windows see the same cells). It is then widened,
//!   where needed, until every window's padding resolves exactly as for the whole input ("same"
//!   padding with a stride depends on the size). Positions it computes next to its own borders
//!   are wrong (the network pads there) and are never used: the owned ones depend only on input
//!   inside the tile or padding that the whole input has too.
//!
//! What it costs: each evaluation runs the forward pass twice per tile (a first pass for the
//! Gram sums, a second with the backward pass), about 1.5× the work of one untiled forward and
//! backward (the input-only backward costs about one forward), times the halo overhead
//! [`Plan::overhead`]: `Π_d (T + h_d)/T` for a halo of `h_d` positions per axis, e.g. 1.1 for
//! 128³ tiles of the default 3D bank (field 7), 1.9 for 512² tiles of VGG16 to `relu5_1`
//! (field 212, stride 16). Without style layers the first pass is skipped. Memory is that of one
//! tile's pass ([`activation_bytes`]) plus the input, its gradient and the loss layers' global
//! Gram matrices and content targets.

mod memory;
mod plan;
pub mod progress;
mod region;

pub use memory::{activation_bytes, choose_tile, output_bytes};
pub use plan::{Kept, Plan, Tile};
pub use region::{copy_box, crop};
