//! What a network learned: the top-k dataset patches per unit (Zeiler & Fergus 2014), in 1D, 2D and 3D.
//!
//! For a layer of any [`Network`](crate::nn::Network), [`receptive_field`] gives the exact input
//! box each unit sees (through convolution, banks, pooling and ReLU); [`scan`] runs a dataset
//! through the network and keeps, per chosen unit, the `k` strongest activations in a bounded
//! min-heap (memory independent of the dataset's length); [`patches`] crops their boxes from the
//! inputs (zero-padded where a box leaves its input); [`write_grid`] draws one row per unit and
//! [`write_csv`] lists the records. [`visualize`] does all of it into a directory.

mod render;
mod topk;

use std::path::{Path, PathBuf};

pub use crate::nn::receptive::{receptive_field, receptive_field_at, Bounds, UnitBox, RF};
pub use render::{render_grid, write_grid, RenderOptions, Scale};
pub use topk::{
    crop, layer_channels, list_files, patches, scan, scan_with, write_csv, Parallel, Record, ScanOptions,
    TopK, Units,
};

use crate::error::{Error, Result};
use crate::nn::Network;

/// What [`visualize`] wrote.
#[derive(Clone, Debug)]
pub struct Written<const N: usize> {
    pub top: TopK<N>,
    /// The grid of patches (`<layer>.png`).
    pub image: PathBuf,
    /// The records (`<layer>.csv`).
    pub csv: PathBuf,
}

/// Scan `files`, crop the top patches and write `<layer>.png` and `<layer>.csv` into `out_dir`
/// (created if missing). Images are drawn in their own colours, other data stretched per patch
/// unless `render.scale` says otherwise.
pub fn visualize<const N: usize>(
    net: &Network<N>,
    layer: &str,
    files: &[PathBuf],
    opts: &ScanOptions,
    render: Option<RenderOptions>,
    out_dir: &Path,
) -> Result<Written<N>> {
    let top = scan(net, layer, files, opts)?;
    write_all(top, opts.max_side, render, out_dir)
}

/// Crop, render and write the result of a scan (see [`visualize`]).
pub fn write_all<const N: usize>(
    top: TopK<N>,
    max_side: Option<u32>,
    render: Option<RenderOptions>,
    out_dir: &Path,
) -> Result<Written<N>> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let render = render.unwrap_or(RenderOptions {
        scale: if top.source.kind == Some(crate::modality::Kind::Image) {
            Scale::Unit
        } else {
            Scale::PerPatch
        },
        ..RenderOptions::default()
    });
    let cut = patches(&top, max_side)?;
    let stem: String = top
        .layer
        .chars()
        .map(|c| if c.is_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .collect();
    let (image, csv) = (out_dir.join(format!("{stem}.png")), out_dir.join(format!("{stem}.csv")));
    write_grid(&image, &cut, &render)?;
    write_csv(&csv, &top)?;
    Ok(Written { top, image, csv })
}
