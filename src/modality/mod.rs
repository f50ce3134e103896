//! Per-modality conversion between files and tensors, with each kind's pre- and post-processing.
//!
//! Every reader returns a tensor with batch 1 and the metadata needed to write a result in the
//! same form as its input (sampling rate and lead names, WAV rate and sample format, the NIfTI
//! header, the frame bit depth). Every error about a file names the file.
//!
//! Each format implements [`format::Format`] in its own file and is listed once in
//! [`registry::FORMATS`]; the table of formats is generated from it (`docs/modalities.md`).
//!
//! Writers validate the tensor before creating any file, and write through a temporary file in
//! the same folder renamed into place, so a failed write leaves no partial output.

pub mod audio;
pub mod color;
pub mod edf;
pub mod format;
pub mod image;
pub mod npy;
pub mod registry;
pub mod signal;
pub mod standardize;
pub mod video;
pub mod volume;
pub mod wfdb;
pub mod working;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The kinds of data ndstyle converts, each with its own spatial rank.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// ECG and other physiological signals (rank 1).
    Signal,
    /// Audio, as a log-magnitude spectrogram with frequency bins as channels (rank 1).
    Audio,
    /// Still images (rank 2).
    Image,
    /// CT / MRI volumes (rank 3).
    Volume,
    /// Video, with time as the first spatial axis (rank 3).
    Video,
}

impl Kind {
    /// Every kind, in the order of the docs.
    pub const ALL: [Kind; 5] = [Kind::Signal, Kind::Audio, Kind::Image, Kind::Volume, Kind::Video];

    /// The kind called `name` (as in `inputs.kind`).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The extractor `auto` picks: the spectral bank for audio, the random multi-scale bank otherwise.
    pub fn default_extractor(self) -> &'static str {
        match self {
            Kind::Audio => "spectral",
            Kind::Signal | Kind::Image | Kind::Volume | Kind::Video => "random-bank",
        }
    }

    /// The spatial rank of tensors of this kind.
    pub fn rank(self) -> usize {
        match self {
            Kind::Signal | Kind::Audio => 1,
            Kind::Image => 2,
            Kind::Volume | Kind::Video => 3,
        }
    }

    /// A lower-case name, as used in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Signal => "signal",
            Kind::Audio => "audio",
            Kind::Image => "image",
            Kind::Volume => "volume",
            Kind::Video => "video",
        }
    }
}

/// The temporary sibling of `path` used while writing: same folder and same extension (some
/// writers choose compression from the extension), a hidden prefix with the process id.
fn partial_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".partial-{}-{name}", std::process::id()))
}

/// Write `path` by calling `write` on a temporary sibling and renaming it into place; on failure
/// the temporary file is removed and nothing is left at `path`.
pub(crate) fn write_via_temp(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if path.file_name().is_none() {
        return Err(Error::invalid("output path", format!("{}: not a file name", path.display())));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let tmp = partial_path(path);
    match write(&tmp) {
        Ok(()) => std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(path, e)
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(rename_in_error(e, &tmp, path))
        }
    }
}

/// Errors raised while writing the temporary file name the real output instead.
fn rename_in_error(e: Error, tmp: &Path, path: &Path) -> Error {
    match e {
        Error::Io { path: p, source } if p == tmp => Error::io(path, source),
        Error::Format { path: p, detail } if p == tmp => Error::format(path, detail),
        other => other,
    }
}
