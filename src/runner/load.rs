//! Reading a run's input files as tensors of one rank (shared by `stylize` and experiments).

use std::path::{Path, PathBuf};

use super::Inputs;
use crate::data::{self, LoadOptions, Source};
use crate::error::{Error, Result};

/// Read the content, the styles (with their blend weights) and an optional starting point as
/// rank-`N` tensors; images may be resized to `max_side`. Every style must have the content's
/// channels. Returns the inputs and how the content was stored, so the result is written alike.
pub fn load_inputs<const N: usize>(
    content: &Path,
    styles: &[(PathBuf, f64)],
    init: Option<&Path>,
    options: &LoadOptions,
) -> Result<(Inputs<N>, Source)> {
    let (content_t, source) = data::load_with::<N>(content, options)?;
    let mut loaded = Vec::with_capacity(styles.len());
    for (path, w) in styles {
        let (t, _) = data::load_with::<N>(path, options)?;
        if t.channels() != content_t.channels() {
            return Err(Error::format(
                path,
                format!(
                    "{} channels, but the content {} has {}",
                    t.channels(),
                    content.display(),
                    content_t.channels()
                ),
            ));
        }
        loaded.push((t, *w));
    }
    let init = match init {
        Some(p) => {
            let t = data::load_with::<N>(p, options)?.0;
            if t.dims() != content_t.dims() {
                return Err(Error::format(
                    p,
                    format!(
                        "shape {}, but the content {} has shape {}: a starting point must have the content's shape",
                        t.shape_string(),
                        content.display(),
                        content_t.shape_string()
                    ),
                ));
            }
            Some(t)
        }
        None => None,
    };
    Ok((Inputs { content: content_t, styles: loaded, init }, source))
}
