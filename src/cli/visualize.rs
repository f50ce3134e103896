//! `ndstyle visualize`: the top-k dataset patches per unit of a layer (Zeiler & Fergus), as a PNG grid and a CSV.

use std::path::PathBuf;

use clap::Args;

use ndstyle::data;
use ndstyle::extractors::{self, ExtractorSpec};
use ndstyle::visualize::{self, Parallel, ScanOptions, Units};
use ndstyle::with_rank;

#[derive(Args, Debug)]
pub struct VisualizeArgs {
    /// Feature extractor: random-bank, random-vgg, spectral, or a pretrained one.
    #[arg(long, default_value = "random-bank")]
    pub extractor: String,
    /// HDF5 weights for pretrained extractors.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Pooling between VGG blocks: max or avg.
    #[arg(long, default_value = "max")]
    pub pooling: String,
    /// Seed of a random extractor.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The layer whose units are shown (e.g. relu1, relu3_1).
    #[arg(long)]
    pub layer: String,
    /// Units (channels): a comma-separated list, `all`, or `first:N` (default: the first 8).
    #[arg(long, default_value = "first:8")]
    pub units: String,
    /// A directory of .npy/.png/.jpg files, a glob pattern (quote it), or one file.
    #[arg(long)]
    pub data: String,
    /// Patches kept per unit.
    #[arg(long, default_value_t = 9)]
    pub top: usize,
    /// Output directory (gets <layer>.png and <layer>.csv).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Spatial rank for .npy inputs (default: inferred from the first file).
    #[arg(long)]
    pub rank: Option<usize>,
    /// Resize images so their longer side is this many pixels.
    #[arg(long)]
    pub max_side: Option<u32>,
    /// Least distance between two kept positions of a unit in one file, in the layer's positions
    /// (default: half the receptive field; 1 keeps neighbours).
    #[arg(long)]
    pub min_gap: Option<usize>,
    /// Files run at once. The default, 1, runs files one after another with the cores working
    /// inside each pass: on a 2-core machine, 48 64×64 inputs scanned as fast or faster that way
    /// than 8 at a time (both share rayon's one pool, so neither oversubscribes). Try 8 for many
    /// tiny inputs on many cores.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Target cell side in pixels in the grid.
    #[arg(long, default_value_t = 48)]
    pub cell: usize,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(a: &VisualizeArgs) -> anyhow::Result<()> {
    let files = visualize::list_files(&a.data)?;
    let rank = data::probe_rank(&files[0], &data::LoadOptions { rank: a.rank, ..Default::default() })?;
    with_rank!(rank, N => run_rank::<N>(a, &files))
}

fn run_rank<const N: usize>(a: &VisualizeArgs, files: &[PathBuf]) -> anyhow::Result<()> {
    anyhow::ensure!(a.top >= 1, "--top must be at least 1");
    anyhow::ensure!(a.cell >= 4, "--cell must be at least 4 pixels");
    let (x, _) = data::load::<N>(&files[0], a.max_side)?;
    // `..default()` keeps this literal valid when the spec gains fields.
    #[allow(clippy::needless_update)]
    let spec = ExtractorSpec {
        name: a.extractor.clone(),
        pooling: a.pooling.parse()?,
        seed: a.seed,
        weights: a.weights.clone(),
        ..ExtractorSpec::default()
    };
    let ext = extractors::build::<N>(&spec, x.channels())?;
    drop(x);
    let opts = ScanOptions {
        k: a.top,
        units: a.units.parse::<Units>()?,
        min_gap: a.min_gap,
        max_side: a.max_side,
        batch: a.batch.max(1),
        parallel: if a.batch <= 1 { Parallel::Inner } else { Parallel::Files },
        quiet: a.quiet,
    };
    let top = visualize::scan(&ext.net, &a.layer, files, &opts)?;
    let render = visualize::RenderOptions {
        cell: a.cell,
        scale: if top.source.kind == Some(ndstyle::modality::Kind::Image) {
            visualize::Scale::Unit
        } else {
            visualize::Scale::PerPatch
        },
    };
    let w = visualize::write_all(top, a.max_side, Some(render), &a.out)?;
    let rf = w.top.rf;
    if !a.quiet {
        eprintln!(
            "{} files, layer {} (receptive field {:?}, jump {:?}, offset {:?}), {} units × top {}",
            files.len(),
            a.layer,
            rf.size,
            rf.stride,
            rf.start,
            w.top.units.len(),
            a.top
        );
    }
    println!("{}", w.image.display());
    println!("{}", w.csv.display());
    Ok(())
}
