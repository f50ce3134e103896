//! The boundary every file format implements: what it is, how it is detected, read, scaled and written.
//!
//! A format is one type implementing [`Format`] (in its own file) plus one line in
//! [`super::registry::FORMATS`]. Everything else (input detection, output formats, YAML
//! validation, CLI help and error messages, `docs/modalities.md`) reads the registry, so a format
//! is never known in more than one place. See `docs/extending.md` for a walk-through.

use std::any::Any;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use super::audio::{AudioMeta, GriffinLim, StftConfig};
use super::signal::SignalMeta;
use super::standardize::Standardize;
use super::video::FrameMeta;
use super::volume::{IntensityWindow, VolumeMeta};
use super::Kind;
use crate::error::{Error, Result};
use crate::rank::AnyTensor;
use crate::tensor::Tensor;

/// Options for reading inputs.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct LoadOptions {
    /// The size limit of `--max-side`: images are resized so their longer side is this many
    /// pixels; volumes (every axis), video frames (height and width) and `.npy` arrays are shrunk
    /// so their longest side is at most this, signals to at most this many samples (the rate
    /// scaled alike); audio refuses it.
    pub max_side: Option<u32>,
    /// Sampling rate of CSV signals without a rate in the file.
    pub fs: Option<f64>,
    /// STFT of audio inputs.
    pub stft: StftConfig,
    /// Griffin–Lim for audio outputs.
    pub griffin_lim: GriffinLim,
    /// Intensity window of volumes: `[lo, hi] → [0, 1]` on reading, inverted on writing.
    pub window: Option<IntensityWindow>,
    /// The window of style volumes when it differs from [`Self::window`] (a CT style in HU for an
    /// MRI content); `None`: the same.
    pub style_window: Option<IntensityWindow>,
    /// Map inputs that their format leaves as stored (CSV signals, volumes without a window) into
    /// the network's working range ([`super::working`]); runs do, plain reads do not.
    pub working_range: bool,
    /// The spatial rank of `.npy` inputs, when given (otherwise inferred from the array).
    pub rank: Option<usize>,
    /// Where the channel axis of `.npy` inputs is, when given (otherwise inferred).
    pub layout: Option<crate::io::npy::Layout>,
}

/// What the docs and `--help` say of a format.
#[derive(Clone, Copy, Debug)]
pub struct About {
    /// How a path of this format is written (`.edf`, `FILE.h5:/dataset`, a folder of PNG frames).
    pub spelling: &'static str,
    /// The tensor it becomes (`1 × signals × T`).
    pub tensor: &'static str,
    /// What its channels are.
    pub channels: &'static str,
    /// The metadata kept for writing results back.
    pub metadata: &'static str,
    /// How values are scaled into the network's range (and back on writing).
    pub scaling: &'static str,
}

/// One file format: its identity, detection, reader and writer.
pub trait Format: Sync {
    /// The name used by `outputs.format`, the docs and errors (`png`, `edf`, `nii.gz`).
    fn name(&self) -> &'static str;
    /// The kind of data it holds; `None` for formats of any rank (`.npy`).
    fn kind(&self) -> Option<Kind>;
    /// File-name endings, lower case, without the leading dot (`nii.gz`); empty for folders.
    fn extensions(&self) -> &'static [&'static str];
    /// Whether `path` is of this format (by default: one of [`Self::extensions`] ends its name).
    fn matches(&self, path: &Path) -> bool {
        let name = path.to_string_lossy().to_ascii_lowercase();
        self.extensions().iter().any(|e| name.ends_with(&format!(".{e}")))
    }
    /// What the docs say of it.
    fn about(&self) -> About;
    /// The spatial rank of the data at `path` (by default the kind's; `.npy` looks at the array).
    fn rank(&self, path: &Path, options: &LoadOptions) -> Result<usize> {
        let _ = (path, options);
        Ok(self.kind().map_or(1, Kind::rank))
    }
    /// Read `path` as a batch-1 tensor scaled into the network's range, and how to write it back.
    fn read(&self, path: &Path, options: &LoadOptions) -> Result<(AnyTensor, Source)>;
    /// Write `t` (already mapped back into the input's units) to `path`, with metadata from the
    /// input `like` it was made from.
    fn write(&self, path: &Path, t: &AnyTensor, like: &Source) -> Result<()>;
    /// Why results for content of `kind` (`None`: a `.npy` array) and `rank` cannot be written in
    /// this format, checked before a run starts; `None` when they can.
    fn refuses(&self, _kind: Option<Kind>, rank: usize) -> Option<String> {
        let what = match self.kind()? {
            Kind::Signal => "signals",
            Kind::Audio => "audio",
            Kind::Image => "images",
            Kind::Volume => "volumes",
            Kind::Video => "videos",
        };
        let r = self.kind()?.rank();
        (r != rank).then(|| format!("{} holds {what} (rank {r})", self.name()))
    }
}

/// How a file's data became a tensor, so that results are written back the same way.
#[derive(Clone, Debug)]
pub struct Source {
    /// The registry name of the format it was read from.
    pub format: &'static str,
    /// Its kind (`None`: a `.npy` array of no stated kind).
    pub kind: Option<Kind>,
    /// The number of dimensions of the array as stored (for `.npy` round trips).
    pub ndim: usize,
    pub meta: Meta,
    /// How the values were mapped into the network's range; inverted before writing.
    pub scaling: Scaling,
    /// What the reader inferred or changed, for the log (`(5000, 12) read as 12 leads × 5000`).
    pub notes: Vec<String>,
    /// The spatial size as stored, when `max_side` shrank it on reading.
    pub resized_from: Option<Vec<usize>>,
}

impl Source {
    /// A source of `format` with no metadata and no scaling.
    pub fn plain(format: &'static str, kind: Option<Kind>, ndim: usize) -> Source {
        Source {
            format,
            kind,
            ndim,
            meta: Meta::default(),
            scaling: Scaling::Identity,
            notes: Vec::new(),
            resized_from: None,
        }
    }
}

/// The metadata a result needs to be written like its input: one slot per kind of metadata, so a
/// CSV can be written from an EDF input (rate, labels, units) and an EDF from an EDF field for field.
#[derive(Clone, Debug, Default)]
pub struct Meta {
    /// Sampling rate and lead names of signals.
    pub signal: Option<SignalMeta>,
    /// Physical units of signals (`mV`, `uV`).
    pub units: Option<String>,
    /// WAV rate and format with the STFT that made the spectrogram and the Griffin–Lim for outputs.
    pub audio: Option<(AudioMeta, StftConfig, GriffinLim)>,
    /// Volume spacing and header.
    pub volume: Option<VolumeMeta>,
    /// Frame bit depth.
    pub frames: Option<FrameMeta>,
    /// The format's own header, for writing the same format back field for field.
    pub header: Option<Header>,
}

/// A format's own header, opaque to everyone but that format.
#[derive(Clone)]
pub struct Header(Arc<dyn Any + Send + Sync>);

impl Header {
    pub fn new<T: Any + Send + Sync>(h: T) -> Header {
        Header(Arc::new(h))
    }
    /// The header as `T`, if it is one.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Header(..)")
    }
}

/// How an input's values were mapped into the network's working range.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Scaling {
    /// Unchanged (images are in [0, 1] already).
    #[default]
    Identity,
    /// Per-channel standardisation (physiological signals).
    Standardize(Standardize),
    /// An intensity window `[lo, hi] → [0, 1]` (volumes).
    Window(IntensityWindow),
}

impl Scaling {
    /// Map `t` into the working range.
    pub fn apply<const N: usize>(&self, t: &Tensor<N>) -> Result<Tensor<N>> {
        match self {
            Scaling::Identity => Ok(t.clone()),
            Scaling::Standardize(s) => s.apply(t),
            Scaling::Window(w) => Ok(w.apply(t)),
        }
    }
    /// Map `t` back into the input's units.
    pub fn invert<const N: usize>(&self, t: &Tensor<N>) -> Result<Tensor<N>> {
        match self {
            Scaling::Identity => Ok(t.clone()),
            Scaling::Standardize(s) => s.invert(t),
            Scaling::Window(w) => Ok(w.invert(t)),
        }
    }
}

/// The error of a writer that needs metadata the input did not have.
pub fn needs(path: &Path, what: &str) -> Error {
    Error::invalid("output", format!("{} can only be written for {what}", path.display()))
}

/// `t` as rank `N`, naming `path` if its rank differs.
pub fn as_rank<const N: usize>(path: &Path, t: &AnyTensor) -> Result<Tensor<N>> {
    t.clone().into_rank::<N>(&path.display().to_string())
}
