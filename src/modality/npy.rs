//! NumPy `.npy` arrays as a format of any rank, with the layout inferred from the shape and said.
//!
//! | shape | read as |
//! |---|---|
//! | `(T,)` | a one-channel signal, rank 1 |
//! | `(T, L)`, `T ≥ 8·L`, `L ≤ 64` | a signal of `L` leads (samples × leads, the usual ECG layout), rank 1 |
//! | `(L, T)`, `T ≥ 8·L`, `L ≤ 64` | a signal of `L` leads, rank 1 |
//! | `(H, W)` otherwise | a one-channel image, rank 2 |
//! | `(C, H, W)`, `C ≤ 4 < H, W` | a `C`-channel image, rank 2 |
//! | `(H, W, C)`, `C ≤ 4 < H, W` | a `C`-channel image (channels last), rank 2 |
//! | `(D, H, W)` otherwise | a one-channel volume, rank 3 |
//! | `(C, D, H, W)`, `(B, C, D, H, W)` | a volume of `C` channels (and a batch), rank 3 |
//!
//! `--rank` and `--layout` (channels-first or channels-last) override the inference.
//!
//! `--max-side` limits the array by its rank: a signal to at most that many samples
//! (band-limited resampling; an array has no rate to update), an image or volume to a longest
//! side of at most that (area averaging, every spatial axis).

use std::path::Path;

use super::format::{About, Format, LoadOptions, Source};
use super::Kind;
use crate::error::{Error, Result};
use crate::io::npy::{from_tensor, read_npy, to_tensor, write_npy, Layout};
use crate::rank::AnyTensor;
use crate::tensor::shrink::{bandlimited, shrink_noted};
use crate::tensor::Tensor;
use crate::with_rank;

/// A `.npy` array.
pub struct Npy;

/// What an array of `shape` is read as: its spatial rank and where its channels are, with a note
/// saying what was inferred (`None` when the rank and layout were both given).
pub fn infer(
    shape: &[usize],
    rank: Option<usize>,
    layout: Option<Layout>,
) -> Result<(usize, Layout, Option<String>)> {
    let many = |t: usize, l: usize| l <= 64 && t >= 8 * l && l > 1;
    let small = |c: usize| (1..=4).contains(&c);
    let (r, l) = match (shape, rank) {
        (_, Some(r)) => (r, layout.unwrap_or(Layout::ChannelsFirst)),
        ([_], None) => (1, Layout::ChannelsFirst),
        ([t, l], None) if many(*t, *l) => (1, Layout::ChannelsLast),
        ([l, t], None) if many(*t, *l) => (1, Layout::ChannelsFirst),
        ([_, _], None) => (2, Layout::ChannelsFirst),
        ([c, h, w], None) if small(*c) && *h > 4 && *w > 4 => (2, Layout::ChannelsFirst),
        ([h, w, c], None) if small(*c) && *h > 4 && *w > 4 => (2, Layout::ChannelsLast),
        ([_, _, _] | [_, _, _, _] | [_, _, _, _, _], None) => (3, Layout::ChannelsFirst),
        _ => {
            return Err(Error::invalid(
                "rank",
                format!("a {}-dimensional array has no default rank; pass --rank", shape.len()),
            ))
        }
    };
    let layout = layout.unwrap_or(l);
    if rank.is_some() && layout == l {
        return Ok((r, layout, None));
    }
    let what = match r {
        1 => "signal",
        2 => "image",
        _ => "volume",
    };
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let channels = match (shape.len().checked_sub(r), layout) {
        (Some(0), _) | (None, _) => "1 channel".to_string(),
        (Some(_), Layout::ChannelsFirst) => format!("{} channels first", shape[shape.len() - r - 1]),
        (Some(_), Layout::ChannelsLast) => format!("{} channels last", shape[shape.len() - 1]),
    };
    let note = format!(
        "({}) read as a rank-{r} {what} with {channels}; --rank and --layout override this",
        dims.join(", ")
    );
    Ok((r, layout, Some(note)))
}

impl Format for Npy {
    fn name(&self) -> &'static str {
        "npy"
    }
    fn kind(&self) -> Option<Kind> {
        None
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["npy"]
    }
    fn about(&self) -> About {
        About {
            spelling: "`.npy`",
            tensor: "any rank, inferred from the shape (see `modality::npy`) or `--rank`/`--layout`",
            channels: "an axis of at most 4 (images) or 64 (signals), else 1",
            metadata: "the number of dimensions",
            scaling: "none; `--max-side` shrinks (signals in time, images and volumes in space)",
        }
    }
    fn rank(&self, path: &Path, o: &LoadOptions) -> Result<usize> {
        let arr = read_npy(path)?;
        infer(&arr.shape, o.rank, o.layout).map(|(r, _, _)| r).map_err(|e| Error::format(path, strip(&e)))
    }
    fn read(&self, path: &Path, o: &LoadOptions) -> Result<(AnyTensor, Source)> {
        let arr = read_npy(path)?;
        let ndim = arr.shape.len();
        let (rank, layout, note) =
            infer(&arr.shape, o.rank, o.layout).map_err(|e| Error::format(path, strip(&e)))?;
        let mut source = Source::plain("npy", None, ndim);
        source.notes.extend(note.map(|n| format!("{}: {n}", path.display())));
        let t = with_rank!(rank, N => {
            let t = to_tensor::<N>(arr, layout, path)?;
            AnyTensor::new(match o.max_side {
                Some(m) => limit(path, t, m as usize, &mut source)?,
                None => t,
            })
        })?;
        Ok((t, source))
    }
    fn write(&self, path: &Path, t: &AnyTensor, like: &Source) -> Result<()> {
        with_rank!(t.rank(), N => {
            let t = super::format::as_rank::<N>(path, t)?;
            let arr = from_tensor(&t, Layout::ChannelsFirst);
            // Drop the batch (and a single channel) axes the input did not have.
            let keep = match like.ndim {
                n if n == N && t.channels() == 1 && t.batch() == 1 => 2,
                n if n == N + 1 && t.batch() == 1 => 1,
                _ => 0,
            };
            write_npy(path, &arr.shape[keep..], &arr.data)
        })
    }
}

/// `t` within `max_side`: a signal (rank 1) band-limited to at most `max_side` samples, an image
/// or volume shrunk by area averaging so its longest side is at most `max_side`; noted in `source`.
fn limit<const N: usize>(
    path: &Path,
    t: Tensor<N>,
    max_side: usize,
    source: &mut Source,
) -> Result<Tensor<N>> {
    let from = t.spatial();
    let (small, note) = if N == 1 {
        if from[0] <= max_side {
            return Ok(t);
        }
        let small = bandlimited(&t, 0, max_side)?;
        (small, format!("{} samples resampled to {max_side} (band-limited)", from[0]))
    } else {
        match shrink_noted(&t, [true; N], max_side)? {
            Some(s) => s,
            None => return Ok(t),
        }
    };
    source.notes.push(format!("{}: {note}", path.display()));
    source.resized_from = Some(from.to_vec());
    Ok(small)
}

fn strip(e: &Error) -> String {
    match e {
        Error::Invalid { detail, .. } => detail.clone(),
        other => other.to_string(),
    }
}
