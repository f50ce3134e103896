//! The one table of file formats: detection, output formats, names for help, errors and docs.

use std::path::Path;

use super::format::Format;
use super::{audio, edf, image, npy, signal, video, volume, wfdb, Kind};
use crate::error::{Error, Result};

/// Every format, in the order of the docs. A new format is one file and one line here.
pub static FORMATS: &[&dyn Format] = &[
    &image::PNG,
    &image::JPEG,
    &signal::Csv,
    &edf::Edf,
    &wfdb::Wfdb,
    &audio::Wav,
    &volume::NII,
    &volume::NII_GZ,
    &volume::Hdf5,
    &video::Frames,
    &npy::Npy,
];

/// The format of the input at `path`: a folder is a video of frames, otherwise the format whose
/// extension ends the name (`file.h5:/dataset` is HDF5).
pub fn detect(path: &Path) -> Result<&'static dyn Format> {
    FORMATS
        .iter()
        .copied()
        .find(|f| f.matches(path))
        .ok_or_else(|| Error::format(path, format!("is not a supported input (use {})", spellings())))
}

/// The format a result at `path` is written in (a path without an extension is a frame folder).
pub fn for_output(path: &Path) -> Result<&'static dyn Format> {
    FORMATS.iter().copied().find(|f| f.matches(path)).ok_or_else(|| {
        Error::invalid("output", format!("{}: unknown extension (use {})", path.display(), spellings()))
    })
}

/// The format called `name` in `outputs.format` (`jpeg` is `jpg`).
pub fn by_name(name: &str) -> Option<&'static dyn Format> {
    let name = if name == "jpeg" { "jpg" } else { name };
    FORMATS.iter().copied().find(|f| f.name() == name)
}

/// Every format's name, for help and errors: `png, jpg, csv, …`.
pub fn names() -> String {
    FORMATS.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
}

/// How every input is spelled, for errors: `.png, .jpg, .jpeg, …, a folder of PNG frames`.
pub fn spellings() -> String {
    FORMATS.iter().map(|f| f.about().spelling.replace('`', "")).collect::<Vec<_>>().join(", ")
}

/// The formats of `kind`.
pub fn of_kind(kind: Kind) -> impl Iterator<Item = &'static dyn Format> {
    FORMATS.iter().copied().filter(move |f| f.kind() == Some(kind))
}

/// The table of formats in `docs/modalities.md`.
pub fn markdown() -> String {
    let mut s = String::from(
        "| format (`outputs.format`) | input | kind | rank | tensor | channels | metadata kept | scaling |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for f in FORMATS {
        let a = f.about();
        let (kind, rank) = match f.kind() {
            Some(k) => (k.name().to_string(), k.rank().to_string()),
            None => ("any".to_string(), "1–3".to_string()),
        };
        s.push_str(&format!(
            "| `{}` | {} | {kind} | {rank} | {} | {} | {} | {} |\n",
            f.name(),
            a.spelling,
            a.tensor,
            a.channels,
            a.metadata,
            a.scaling
        ));
    }
    s
}
