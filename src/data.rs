//! Files in and out as tensors of a chosen rank: the formats `stylize` and `distance` accept.

use std::path::Path;

use crate::error::{Error, Result};
use crate::io::image::{read_image, write_image};
use crate::io::npy::{from_tensor, read_npy, to_tensor, write_npy, Layout};
use crate::tensor::Tensor;

/// How a file's data became a tensor, so that results are written back the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A PNG or JPEG image: `1 × C × H × W` with values in `[0, 1]`.
    Image,
    /// A NumPy array of this many dimensions (channels first when it has more than the rank).
    Npy { ndim: usize },
}

/// The spatial rank of `path`'s data: 2 for images; for `.npy` files `rank` if given, else the
/// array's number of dimensions up to 3 (single channel), and 3 for 4- and 5-dimensional arrays.
pub fn probe_rank(path: &Path, rank: Option<usize>) -> Result<usize> {
    if let Some(r) = rank {
        if !(1..=3).contains(&r) {
            return Err(Error::invalid("rank", format!("{r} (must be 1, 2 or 3)")));
        }
    }
    match extension(path).as_str() {
        "png" | "jpg" | "jpeg" => match rank {
            Some(r) if r != 2 => Err(Error::invalid(
                "rank",
                format!("{} is an image, so its rank is 2, not {r}", path.display()),
            )),
            _ => Ok(2),
        },
        "npy" => {
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
        other => Err(unsupported(path, other)),
    }
}

/// Read `path` as a rank-`N` tensor; images may be resized so their longer side is `max_side`.
pub fn load<const N: usize>(path: &Path, max_side: Option<u32>) -> Result<(Tensor<N>, Source)> {
    let (t, source) = match extension(path).as_str() {
        "png" | "jpg" | "jpeg" => {
            let img = read_image(path, max_side)?;
            let (c, s) = (img.channels(), img.spatial());
            (img.reshape(1, c, spatial_as::<N>(path, &s)?)?, Source::Image)
        }
        "npy" => {
            let arr = read_npy(path)?;
            let ndim = arr.shape.len();
            (to_tensor::<N>(arr, Layout::ChannelsFirst, path)?, Source::Npy { ndim })
        }
        other => return Err(unsupported(path, other)),
    };
    if !t.all_finite() {
        return Err(Error::format(path, "contains NaN or infinite values"));
    }
    if t.is_empty() {
        return Err(Error::format(path, "holds no values"));
    }
    Ok((t, source))
}

/// Write `t` to `path` in the format its extension names (`.png`, `.jpg`, `.npy`); a `.npy`
/// output keeps the input's number of dimensions where it can.
pub fn save<const N: usize>(path: &Path, t: &Tensor<N>, like: Source) -> Result<()> {
    match extension(path).as_str() {
        "png" | "jpg" | "jpeg" => {
            if N != 2 || !(t.channels() == 1 || t.channels() == 3) || t.batch() != 1 {
                return Err(Error::invalid(
                    "output",
                    format!("{}: a {} tensor cannot be an image; use .npy", path.display(), t.shape_string()),
                ));
            }
            let s = t.spatial();
            write_image(path, &t.clone().reshape(1, t.channels(), [s[0], s[N - 1]])?)
        }
        "npy" => {
            let arr = from_tensor(t, Layout::ChannelsFirst);
            let keep = match like {
                Source::Npy { ndim } if ndim == N && t.channels() == 1 && t.batch() == 1 => 2,
                Source::Npy { ndim } if ndim == N + 1 && t.batch() == 1 => 1,
                _ => 0,
            };
            write_npy(path, &arr.shape[keep..], &arr.data)
        }
        other => Err(unsupported(path, other)),
    }
}

fn spatial_as<const N: usize>(path: &Path, s: &[usize]) -> Result<[usize; N]> {
    s.try_into()
        .map_err(|_| Error::invalid("rank", format!("{} is an image (rank 2), not rank {N}", path.display())))
}

fn extension(path: &Path) -> String {
    path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase()
}

fn unsupported(path: &Path, ext: &str) -> Error {
    let what = if ext.is_empty() { "no extension".to_string() } else { format!("extension '.{ext}'") };
    Error::format(path, format!("{what} is not supported here (use .png, .jpg, .jpeg or .npy)"))
}
