//! Files in and out as tensors of a chosen rank, through the format registry: what `stylize`, `distance`, `visualize` and `run` read.

use std::path::Path;

use crate::error::{Error, Result};
use crate::modality::format::Format;
use crate::modality::registry;
use crate::modality::Kind;
use crate::rank::AnyTensor;
use crate::tensor::Tensor;

pub use crate::modality::format::{LoadOptions, Source};

/// The format of the input at `path`.
pub fn format_of(path: &Path) -> Result<&'static dyn Format> {
    registry::detect(path)
}

/// The kind of `path`, or `None` for `.npy` (whose rank the array decides).
pub fn kind_of(path: &Path) -> Result<Option<Kind>> {
    Ok(format_of(path)?.kind())
}

/// The spatial rank of `path`'s data: fixed by the kind for every format but `.npy`, whose rank
/// is `options.rank` or inferred from the array's shape (see [`crate::modality::npy`]).
pub fn probe_rank(path: &Path, options: &LoadOptions) -> Result<usize> {
    if let Some(r) = options.rank {
        if !crate::rank::RANKS.contains(&r) {
            return Err(crate::rank::unsupported(r));
        }
    }
    let format = format_of(path)?;
    match (format.kind(), options.rank) {
        (Some(kind), Some(r)) if r != kind.rank() => Err(Error::invalid(
            "rank",
            format!("{} is {} data of rank {}, not {r}", path.display(), kind.name(), kind.rank()),
        )),
        _ => format.rank(path, options),
    }
}

/// Read `path` in whatever rank it holds, scaled into the network's range.
pub fn load_any(path: &Path, options: &LoadOptions) -> Result<(AnyTensor, Source)> {
    let (t, source) = format_of(path)?.read(path, options)?;
    if t.data().is_empty() {
        return Err(Error::format(path, "holds no values"));
    }
    if !t.data().iter().all(|v| v.is_finite()) {
        return Err(Error::format(path, "contains NaN or infinite values"));
    }
    if options.working_range {
        return crate::modality::working::into_working_range(t, source, &path.display().to_string());
    }
    Ok((t, source))
}

/// Read `path` as a rank-`N` tensor; images may be resized so their longer side is `max_side`.
pub fn load<const N: usize>(path: &Path, max_side: Option<u32>) -> Result<(Tensor<N>, Source)> {
    load_with(path, &LoadOptions { max_side, ..LoadOptions::default() })
}

/// Read `path` as a rank-`N` tensor with explicit options.
pub fn load_with<const N: usize>(path: &Path, options: &LoadOptions) -> Result<(Tensor<N>, Source)> {
    let options = LoadOptions { rank: options.rank.or(Some(N).filter(|_| is_npy(path))), ..*options };
    let (t, source) = load_any(path, &options)?;
    Ok((t.into_rank::<N>(&path.display().to_string())?, source))
}

/// Write `t` to `path` in the format its path names, mapped back into the input's units, with
/// metadata from the input it was made like (sampling rate, audio framing, NIfTI header, bit depth).
pub fn save<const N: usize>(path: &Path, t: &Tensor<N>, like: &Source) -> Result<()> {
    let format = registry::for_output(path)?;
    if t.batch() != 1 && format.name() != "npy" {
        return Err(Error::invalid(
            "output",
            format!("{}: {} holds a batch; use .npy", path.display(), t.shape_string()),
        ));
    }
    let t = AnyTensor::new(like.scaling.invert(t)?)?;
    format.write(path, &t, like)
}

fn is_npy(path: &Path) -> bool {
    format_of(path).is_ok_and(|f| f.kind().is_none())
}
