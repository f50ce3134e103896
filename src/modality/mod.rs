//! Per-modality conversion between files and tensors, with each kind's pre- and post-processing.
//!
//! Every reader returns a tensor with batch 1 and the metadata needed to write a result in the
//! same form as its input (sampling rate and lead names, WAV rate and sample format, the NIfTI
//! header, the frame bit depth). Every error about a file names the file.
//!
//! | kind | formats | tensor | metadata |
//! |---|---|---|---|
//! | [`Kind::Signal`] | `.csv`: a column per lead, header row of lead names, `# fs=500` comment | `Tensor<1>` 1×leads×T | [`signal::SignalMeta`] |
//! | [`Kind::Signal`] | `.edf`: EDF / EDF+C (physical units, standardised per channel by `data`) | `Tensor<1>` 1×signals×T | [`edf::EdfMeta`] |
//! | [`Kind::Signal`] | `.hea` + `.dat`: WFDB formats 16 and 212 in, 16 out (standardised per channel) | `Tensor<1>` 1×signals×T | [`wfdb::WfdbMeta`] |
//! | [`Kind::Audio`] | `.wav`: 8–48 kHz, int 8/16/24/32 or float 32; stereo mixed to mono | `Tensor<1>` 1×bins×frames, `ln(1+|STFT|)` | [`audio::AudioMeta`] |
//! | [`Kind::Image`] | `.png`, `.jpg`, `.jpeg` (read and written by [`crate::io::image`]) | `Tensor<2>` 1×C×H×W | — |
//! | [`Kind::Volume`] | `.nii`, `.nii.gz`; HDF5 dataset `file.h5:/group/dataset` | `Tensor<3>` 1×C×D×H×W (z,y,x) | [`volume::VolumeMeta`] |
//! | [`Kind::Video`] | a folder of PNG frames (sorted by name); `.npy` shaped (T,H,W,C) | `Tensor<3>` 1×C×T×H×W | [`video::VideoMeta`] |
//!
//! Writers validate the tensor before creating any file, and write through a temporary file in
//! the same folder renamed into place, so a failed write leaves no partial output.

pub mod audio;
pub mod color;
pub mod edf;
pub mod signal;
pub mod standardize;
pub mod video;
pub mod volume;
pub mod wfdb;

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
    /// The kind of the file or folder at `path`, from its extension (a folder is a video of frames).
    ///
    /// An HDF5 dataset path `file.h5:/group/dataset` is a volume. A `.npy` file is ambiguous (any
    /// rank) and is reported as an error asking for the kind to be given explicitly.
    pub fn detect(path: &Path) -> Result<Kind> {
        if path.is_dir() {
            return Ok(Kind::Video);
        }
        let name = path.to_string_lossy().to_ascii_lowercase();
        let file = match volume::H5Path::split(&name) {
            Some((file, _)) => file.to_string(),
            None => name,
        };
        let kind = if file.ends_with(".csv") || file.ends_with(".edf") || file.ends_with(".hea") {
            Kind::Signal
        } else if file.ends_with(".wav") {
            Kind::Audio
        } else if file.ends_with(".png") || file.ends_with(".jpg") || file.ends_with(".jpeg") {
            Kind::Image
        } else if file.ends_with(".nii")
            || file.ends_with(".nii.gz")
            || file.ends_with(".h5")
            || file.ends_with(".hdf5")
        {
            Kind::Volume
        } else if file.ends_with(".npy") {
            return Err(Error::invalid(
                "input kind",
                format!("{}: a .npy file may hold any rank; give the kind explicitly", path.display()),
            ));
        } else {
            return Err(Error::invalid(
                "input kind",
                format!(
                    "{}: unknown extension (expected .csv, .edf, .hea, .wav, .png/.jpg, .nii/.nii.gz, .h5, or a folder of frames)",
                    path.display()
                ),
            ));
        };
        Ok(kind)
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
