//! Before any work: every output a run will write is resolved and refused if it is an input, if it
//! would replace a file the tool did not write, or if its directory is missing or not writable.
//!
//! Paths are compared after canonicalisation (symlinks followed, `./` and `..` resolved; for an
//! output that does not exist yet, its nearest existing ancestor is canonicalised), and, where
//! both exist, by device and inode, so a hard link to an input is caught too. An HDF5 dataset path
//! `file.h5:/group/data` stands for its file.

use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::modality::volume::H5Path;

/// One path a run writes.
#[derive(Clone, Debug)]
pub struct Target {
    pub path: PathBuf,
    /// An existing file here may be replaced (`--overwrite` for results and their sidecars;
    /// `--resume` for a checkpoint; files the tool wrote earlier in a run directory).
    pub replace: bool,
    /// A directory the run writes into (a run directory, a folder of frames).
    pub dir: bool,
}

impl Target {
    /// A file the run writes; `replace` allows replacing an existing one.
    pub fn file(path: impl Into<PathBuf>, replace: bool) -> Target {
        Target { path: path.into(), replace, dir: false }
    }
    /// A directory the run writes into.
    pub fn dir(path: impl Into<PathBuf>) -> Target {
        Target { path: path.into(), replace: true, dir: true }
    }
}

/// Refuse, before any work, any output that resolves to an input (always, whatever `replace`
/// says), lies inside an input folder or holds an input, would replace an existing file without
/// `replace`, or lies in a directory that is missing (unless `create_dirs`: then it is created
/// later by the writer) or not writable (a probe file is created and removed).
pub fn check_outputs(inputs: &[&Path], outputs: &[Target], create_dirs: bool) -> Result<()> {
    let ins: Vec<Resolved> = inputs.iter().filter_map(|p| Resolved::input(p)).collect();
    let mut resolved = Vec::with_capacity(outputs.len());
    for t in outputs {
        let file = file_part(&t.path);
        let (out, missing) = resolve_output(&file).map_err(|e| Error::io(&t.path, e))?;
        let id = file_id(&file);
        if let Some(i) = ins.iter().find(|i| out == i.path || (id.is_some() && id == i.id)) {
            return Err(Error::format(
                &t.path,
                format!(
                    "is the input {}; choose another output name (an input is never overwritten, not even with --overwrite)",
                    i.given.display()
                ),
            ));
        }
        resolved.push((file, out, missing));
    }
    let mut probed: Vec<PathBuf> = Vec::new();
    for (t, (file, out, missing)) in outputs.iter().zip(resolved) {
        if let Some(dir) = &missing {
            if !create_dirs {
                return Err(Error::format(
                    &t.path,
                    format!(
                        "cannot be written: the directory {} does not exist; create it first",
                        dir.display()
                    ),
                ));
            }
        }
        for i in &ins {
            if (t.dir && i.path.starts_with(&out)) || (i.dir && out.starts_with(&i.path)) {
                return Err(Error::format(
                    &t.path,
                    format!(
                        "overlaps the input {}: outputs may not go inside an input folder, nor inputs inside an output folder",
                        i.given.display()
                    ),
                ));
            }
        }
        if !t.replace && std::fs::symlink_metadata(&file).is_ok() {
            return Err(Error::format(&t.path, "exists; pass --overwrite to replace it"));
        }
        // The directory the output goes into (or the nearest existing one above it).
        let dir = match (&missing, t.dir && out.is_dir()) {
            (_, true) => out.clone(),
            (Some(_), _) => nearest_existing(&out),
            (None, _) => out.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/")),
        };
        if !probed.contains(&dir) {
            probe(&dir).map_err(|e| {
                Error::format(&t.path, format!("cannot be written in {}: {e}", dir.display()))
            })?;
            probed.push(dir);
        }
    }
    Ok(())
}

/// An input, resolved.
struct Resolved {
    given: PathBuf,
    path: PathBuf,
    id: Option<(u64, u64)>,
    dir: bool,
}

impl Resolved {
    /// `None` for an input that does not exist (its reader reports that).
    fn input(p: &Path) -> Option<Resolved> {
        let file = file_part(p);
        let path = std::fs::canonicalize(&file).ok()?;
        Some(Resolved { given: p.to_path_buf(), dir: path.is_dir(), id: file_id(&file), path })
    }
}

/// The file an HDF5 dataset path names, or the path itself.
fn file_part(p: &Path) -> PathBuf {
    let s = p.to_string_lossy();
    match H5Path::split(&s) {
        Some((file, _)) => PathBuf::from(file),
        None => p.to_path_buf(),
    }
}

/// The canonical path `p` will have, and the first missing directory above it, if any.
fn resolve_output(p: &Path) -> io::Result<(PathBuf, Option<PathBuf>)> {
    if let Ok(c) = std::fs::canonicalize(p) {
        return Ok((c, None));
    }
    let name = p
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let mut tail = vec![name.to_os_string()];
    let mut base = parent_of(p);
    let mut missing = None;
    while std::fs::metadata(&base).is_err() {
        missing = Some(base.clone());
        match base.file_name() {
            Some(n) => tail.push(n.to_os_string()),
            None => break,
        }
        base = parent_of(&base);
    }
    let mut out = std::fs::canonicalize(&base)?;
    for n in tail.iter().rev() {
        out.push(n);
    }
    Ok((out, missing))
}

fn parent_of(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn nearest_existing(p: &Path) -> PathBuf {
    p.ancestors().find(|a| a.is_dir()).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/"))
}

/// Device and inode of an existing file (Unix), so hard links compare equal.
fn file_id(p: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = p;
        None
    }
}

/// Create and remove a probe file in `dir`.
fn probe(dir: &Path) -> io::Result<()> {
    let probe = dir.join(format!(".ndstyle-probe-{}", std::process::id()));
    std::fs::OpenOptions::new().write(true).create_new(true).open(&probe)?;
    std::fs::remove_file(&probe)
}
