//! Files in and out as tensors of a chosen rank: every format `stylize`, `distance` and `run` accept.
//!
//! | input | kind | tensor |
//! |---|---|---|
//! | `.png`, `.jpg` | image | `1 × C × H × W` in `[0, 1]` (grey 1 channel, RGB 3) |
//! | `.csv` | signal | `1 × leads × T`, sampling rate kept |
//! | `.edf` | signal | `1 × signals × T`, standardised per channel (inverted on writing), header kept |
//! | `.hea` (+ `.dat`) | signal | `1 × signals × T`, standardised per channel (inverted on writing), header kept |
//! | `.wav` | audio | `1 × bins × frames` log-magnitude STFT, frequency bins as channels |
//! | `.nii`, `.nii.gz` | volume | `1 × C × D × H × W`, header and affine kept |
//! | `file.h5:/dataset` | volume | `1 × C × D × H × W` |
//! | folder of PNG frames | video | `1 × C × T × H × W` |
//! | `.npy` | any | rank from `--rank` or the array (see [`probe_rank`]) |

use std::path::Path;

use crate::error::{Error, Result};
use crate::io::image::{read_image, write_image};
use crate::io::npy::{from_tensor, read_npy, to_tensor, write_npy, Layout};
use crate::modality::audio::{
    read_wav_spectrogram, write_wav_spectrogram, AudioMeta, GriffinLim, StftConfig,
};
use crate::modality::edf::{read_edf, write_edf, EdfMeta};
use crate::modality::signal::{read_csv, write_csv, SignalMeta};
use crate::modality::standardize::Standardize;
use crate::modality::video::{read_frames, write_frames, FrameMeta};
use crate::modality::volume::{
    read_hdf5, read_nifti, write_hdf5, write_nifti, H5Path, IntensityWindow, VolumeMeta,
};
use crate::modality::wfdb::{read_wfdb, write_wfdb, WfdbMeta};
use crate::modality::Kind;
use crate::tensor::Tensor;

/// How a file's data became a tensor, so that results are written back the same way.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A PNG or JPEG image.
    Image,
    /// A NumPy array of this many dimensions (channels first when it has more than the rank).
    Npy { ndim: usize },
    /// A CSV signal with its sampling rate and lead names.
    Signal(SignalMeta),
    /// An EDF/EDF+ recording with its header, standardised per channel by these statistics.
    Edf(EdfMeta, Standardize),
    /// A WFDB record with its header, standardised per channel by these statistics.
    Wfdb(WfdbMeta, Standardize),
    /// A WAV file, as a spectrogram made with this STFT; outputs get their phase by this Griffin–Lim.
    Audio(AudioMeta, StftConfig, GriffinLim),
    /// A NIfTI or HDF5 volume with its header and spacing, and the intensity window applied on
    /// reading (inverted on writing).
    Volume(VolumeMeta, Option<IntensityWindow>),
    /// A folder of PNG frames.
    Frames(FrameMeta),
}

/// Options for reading inputs.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct LoadOptions {
    /// Resize images so their longer side is this many pixels.
    pub max_side: Option<u32>,
    /// Sampling rate of CSV signals without a `# fs=` line.
    pub fs: Option<f64>,
    /// STFT of audio inputs.
    pub stft: StftConfig,
    /// Griffin–Lim for audio outputs.
    pub griffin_lim: GriffinLim,
    /// Intensity window of volumes: `[lo, hi] → [0, 1]` on reading, inverted on writing.
    pub window: Option<IntensityWindow>,
}

/// The kind of `path`, or `None` for `.npy` (whose rank the array decides).
pub fn kind_of(path: &Path) -> Result<Option<Kind>> {
    if extension(path) == "npy" {
        return Ok(None);
    }
    Kind::detect(path).map(Some).map_err(|_| unsupported(path))
}

/// The spatial rank of `path`'s data: fixed by the kind for every format but `.npy`; for `.npy`
/// `rank` if given, else the array's number of dimensions up to 3 (single channel), and 3 for 4-
/// and 5-dimensional arrays.
pub fn probe_rank(path: &Path, rank: Option<usize>) -> Result<usize> {
    if let Some(r) = rank {
        if !(1..=3).contains(&r) {
            return Err(Error::invalid("rank", format!("{r} (must be 1, 2 or 3)")));
        }
    }
    match kind_of(path)? {
        Some(kind) => match rank {
            Some(r) if r != kind.rank() => Err(Error::invalid(
                "rank",
                format!("{} is {} data of rank {}, not {r}", path.display(), kind.name(), kind.rank()),
            )),
            _ => Ok(kind.rank()),
        },
        None => {
            if let Some(r) = rank {
                return Ok(r);
            }
            let ndim = read_npy(path)?.shape.len();
            match ndim {
                1..=3 => Ok(ndim),
                4 | 5 => Ok(3),
                _ => Err(Error::format(
                    path,
                    format!("a {ndim}-dimensional array has no default rank; pass --rank"),
                )),
            }
        }
    }
}

/// Read `path` as a rank-`N` tensor; images may be resized so their longer side is `max_side`.
pub fn load<const N: usize>(path: &Path, max_side: Option<u32>) -> Result<(Tensor<N>, Source)> {
    load_with(path, &LoadOptions { max_side, ..LoadOptions::default() })
}

/// Read `path` as a rank-`N` tensor with explicit options.
pub fn load_with<const N: usize>(path: &Path, o: &LoadOptions) -> Result<(Tensor<N>, Source)> {
    let (t, source) = match kind_of(path)? {
        None => {
            let arr = read_npy(path)?;
            let ndim = arr.shape.len();
            (to_tensor::<N>(arr, Layout::ChannelsFirst, path)?, Source::Npy { ndim })
        }
        Some(Kind::Image) => (cast(path, read_image(path, o.max_side)?)?, Source::Image),
        Some(Kind::Signal) if extension(path) == "edf" => {
            let (t, meta) = read_edf(path)?;
            let (t, scale) = Standardize::fit_apply(&t)?;
            (cast(path, t)?, Source::Edf(meta, scale))
        }
        Some(Kind::Signal) if extension(path) == "hea" => {
            let (t, meta) = read_wfdb(path)?;
            let (t, scale) = Standardize::fit_apply(&t)?;
            (cast(path, t)?, Source::Wfdb(meta, scale))
        }
        Some(Kind::Signal) => {
            let (t, meta) = read_csv(path, o.fs)?;
            (cast(path, t)?, Source::Signal(meta))
        }
        Some(Kind::Audio) => {
            let (t, meta) = read_wav_spectrogram(path, o.stft)?;
            (cast(path, t)?, Source::Audio(meta, o.stft, o.griffin_lim))
        }
        Some(Kind::Volume) => {
            let (t, meta) = match h5_path(path)? {
                Some(at) => read_hdf5(&at)?,
                None => read_nifti(path)?,
            };
            let t = match o.window {
                Some(w) => w.apply(&t),
                None => t,
            };
            (cast(path, t)?, Source::Volume(meta, o.window))
        }
        Some(Kind::Video) => {
            let (t, meta) = read_frames(path)?;
            (cast(path, t)?, Source::Frames(meta))
        }
    };
    if t.is_empty() {
        return Err(Error::format(path, "holds no values"));
    }
    if !t.all_finite() {
        return Err(Error::format(path, "contains NaN or infinite values"));
    }
    Ok((t, source))
}

/// Write `t` to `path` in the format its path names; metadata comes from the input it was made
/// like (sampling rate, audio framing, NIfTI header, bit depth).
pub fn save<const N: usize>(path: &Path, t: &Tensor<N>, like: &Source) -> Result<()> {
    if t.batch() != 1 && extension(path) != "npy" {
        return Err(Error::invalid(
            "output",
            format!("{}: {} holds a batch; use .npy", path.display(), t.shape_string()),
        ));
    }
    // A windowed volume goes back to its original units, whatever the output format.
    let unwindowed;
    let t = match like {
        Source::Volume(_, Some(w)) => {
            unwindowed = w.invert(t);
            &unwindowed
        }
        Source::Edf(_, s) | Source::Wfdb(_, s) => {
            unwindowed = cast(path, s.invert(&cast(path, t.clone())?)?)?;
            &unwindowed
        }
        _ => t,
    };
    let kind = if path.extension().is_none() && !path.to_string_lossy().contains(":/") {
        Some(Kind::Video)
    } else {
        kind_of(path)?
    };
    match kind {
        None => {
            let arr = from_tensor(t, Layout::ChannelsFirst);
            let keep = match like {
                Source::Npy { ndim } if *ndim == N && t.channels() == 1 && t.batch() == 1 => 2,
                Source::Npy { ndim } if *ndim == N + 1 && t.batch() == 1 => 1,
                _ => 0,
            };
            write_npy(path, &arr.shape[keep..], &arr.data)
        }
        Some(Kind::Image) => write_image(path, &cast(path, t.clone())?),
        Some(Kind::Signal) => {
            let t1: Tensor<1> = cast(path, t.clone())?;
            let (fs, leads, units) = match like {
                Source::Signal(m) => (m.fs, m.leads.clone(), "mV".to_string()),
                Source::Edf(m, _) => {
                    (m.fs(), m.labels(), m.signals.first().map_or("mV".into(), |s| s.units.clone()))
                }
                Source::Wfdb(m, _) => {
                    (m.fs, m.labels(), m.signals.first().map_or("mV".into(), |s| s.units.clone()))
                }
                _ => return Err(needs(path, "a CSV, EDF or WFDB input (for its sampling rate)")),
            };
            match (extension(path).as_str(), like) {
                ("edf", Source::Edf(m, _)) => write_edf(path, &t1, m),
                ("edf", _) => write_edf(path, &t1, &EdfMeta::for_signal(fs, &leads, &units, &t1)?),
                ("hea", Source::Wfdb(m, _)) => write_wfdb(path, &t1, m),
                ("hea", _) => write_wfdb(path, &t1, &WfdbMeta::for_signal(fs, &leads, &units, &t1)?),
                _ => write_csv(path, &t1, &SignalMeta { fs, leads }),
            }
        }
        Some(Kind::Audio) => match like {
            Source::Audio(meta, cfg, gl) => {
                write_wav_spectrogram(path, &cast(path, t.clone())?, meta, *cfg, *gl)
            }
            _ => Err(needs(path, "a WAV input (for its sample rate and framing)")),
        },
        Some(Kind::Volume) => {
            let meta = match like {
                Source::Volume(m, _) => m.clone(),
                _ => VolumeMeta::with_spacing([1.0; 3]),
            };
            let v = cast(path, t.clone())?;
            match h5_path(path)? {
                Some(at) => write_hdf5(&at, &v),
                None => write_nifti(path, &v, &meta),
            }
        }
        Some(Kind::Video) => {
            let meta = match like {
                Source::Frames(m) => *m,
                _ => FrameMeta::default(),
            };
            write_frames(path, &cast(path, t.clone())?, meta)
        }
    }
}

/// Whether `path` names an HDF5 dataset (`file.h5:/group/dataset`).
fn h5_path(path: &Path) -> Result<Option<H5Path>> {
    let s = path.to_string_lossy();
    if s.contains(":/") {
        return H5Path::parse(&s).map(Some);
    }
    if matches!(extension(path).as_str(), "h5" | "hdf5") {
        return Err(Error::invalid(
            "HDF5 path",
            format!("{}: name the dataset as FILE.h5:/group/dataset", path.display()),
        ));
    }
    Ok(None)
}

/// A tensor of rank `M` as rank `N` (they must be equal; the kind fixes the rank).
fn cast<const M: usize, const N: usize>(path: &Path, t: Tensor<M>) -> Result<Tensor<N>> {
    let (b, c, s) = (t.batch(), t.channels(), t.spatial());
    let spatial: [usize; N] = s.as_slice().try_into().map_err(|_| {
        Error::invalid("rank", format!("{} holds rank-{M} data, not rank {N}", path.display()))
    })?;
    t.reshape(b, c, spatial)
}

fn extension(path: &Path) -> String {
    path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase()
}

fn needs(path: &Path, what: &str) -> Error {
    Error::invalid("output", format!("{} can only be written for {what}", path.display()))
}

fn unsupported(path: &Path) -> Error {
    Error::format(
        path,
        "is not a supported input (use .png, .jpg, .csv, .edf, .hea, .wav, .nii, .nii.gz, FILE.h5:/dataset, .npy or a folder of PNG frames)",
    )
}
