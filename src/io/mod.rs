//! File input and output: NumPy arrays, PNG/JPEG images, the losses CSV log and loss plots.
//!
//! Every function here names the file at fault in its error ([`Error::Io`] or [`Error::Format`]
//! carry the path), and every writer of a whole file goes through [`atomic_write`]: the bytes go
//! to a temporary file in the destination's directory, which is flushed, fsynced and renamed over
//! the destination. A reader therefore sees either the old file or the complete new one, and a
//! failed write (an encoding error, a full disk, a panic in the writer) leaves no partial file.
//! Writers validate their input before touching the file system, so an error writes nothing.
//!
//! The one exception is the losses log ([`csv::LossLogWriter`]), which is appended to row by row
//! while an optimisation runs and flushed after every row, so that it can be read mid-run.
//!
//! # Formats
//!
//! - [`npy`]: NumPy `.npy`, read (format versions 1.0, 2.0, 3.0; `f4`, `f8` and integer dtypes
//!   converted to f32; C order only) and written (version 1.0, little-endian `f4`), plus the
//!   conversion between an array and a [`Tensor`](crate::Tensor) (see [`npy::to_tensor`]).
//!
//!   The reader and writer are written here rather than taken from `ndarray-npy`: the format is
//!   a magic string, a length and a Python dict literal followed by raw values, about 300 lines
//!   in all; doing it ourselves keeps `ndarray` out of the dependency tree (the tensor core does
//!   not use it), lets every dtype be converted to f32 on read instead of failing on a type
//!   mismatch, puts the file name and the offending header field in every error, and lets the
//!   writer go through [`atomic_write`].
//! - [`image`]: PNG and JPEG through the `image` crate (pure-Rust codecs only): grey images
//!   become one channel, colour images three (alpha is dropped), values scaled to `[0, 1]`.
//! - [`csv`]: the losses log, `iteration,total,content,style_<layer>…,tv,seconds`.
//! - [`plot`]: a log-scale line plot of loss series rendered to PNG with `plotters` and an
//!   embedded DejaVu Sans font (no system fontconfig or freetype).

pub mod csv;
pub mod image;
pub mod npy;
pub mod plot;

pub use self::csv::{header_columns, read_loss_log, LossLog, LossLogWriter, LossRow};
pub use self::image::{read_image, write_image, JPEG_QUALITY};
pub use self::npy::{
    ensure_finite, from_tensor, read_npy, read_npy_tensor, to_tensor, write_npy, write_tensor_npy, Layout,
    NdArray,
};
pub use self::plot::{plot_losses, plot_losses_with_size, PLOT_SIZE};

use crate::error::{Error, Result};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `path` atomically: `write` fills a temporary file in the same directory, which is then
/// flushed, fsynced and renamed over `path` (and the directory fsynced, where the platform allows).
///
/// If `write` returns an error or panics, or any step fails, the temporary file is removed and
/// `path` is left as it was (absent, or its previous content). The parent directory must exist.
/// Errors from `write` are reported as [`Error::Io`] naming `path`; a writer that fails for a
/// reason other than I/O can wrap it with [`io::Error::other`].
pub fn atomic_write<T>(
    path: impl AsRef<Path>,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<T>,
) -> Result<T> {
    let path = path.as_ref();
    let err = |e: io::Error| Error::io(path, e);
    let file_name = path
        .file_name()
        .ok_or_else(|| err(io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name")))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };

    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let (file, tmp) = loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = std::ffi::OsString::from(".");
        name.push(file_name);
        name.push(format!(".tmp-{}-{n}", std::process::id()));
        let tmp = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => break (f, tmp),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(err(e)),
        }
    };
    // Removes the temporary file on every early exit, panics included.
    let guard = TempGuard(Some(tmp.clone()));

    let mut writer = BufWriter::new(file);
    let value = write(&mut writer).map_err(err)?;
    let file = writer.into_inner().map_err(|e| err(e.into_error()))?;
    file.sync_all().map_err(err)?;
    drop(file);
    fs::rename(&tmp, path).map_err(err)?;
    guard.disarm();
    sync_dir(&dir);
    Ok(value)
}

/// Deletes the temporary file it holds when dropped, unless disarmed.
struct TempGuard(Option<PathBuf>);

impl TempGuard {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

/// Best-effort fsync of a directory so that a rename in it is durable (a no-op where unsupported).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// The lower-cased extension of `path` (without the dot), or an empty string.
pub(crate) fn extension(path: &Path) -> String {
    path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).unwrap_or_default()
}

/// Writes `bytes` to `path` atomically.
pub(crate) fn atomic_write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    atomic_write(path, |w| w.write_all(bytes))
}
