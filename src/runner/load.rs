//! Reading a run's input files as tensors of one rank (shared by `stylize` and experiments).

use std::path::{Path, PathBuf};

use super::Inputs;
use crate::data::{self, LoadOptions, Source};
use crate::error::{Error, Result};
use crate::modality::color::adapt_channels;
use crate::modality::format::Scaling;
use crate::tensor::Tensor;

/// Read the content, the styles (with their blend weights) and an optional starting point as
/// rank-`N` tensors; images may be resized to `max_side`. Every style must have the content's
/// channels. Returns the inputs and how the content was stored, so the result is written alike.
pub fn load_inputs<const N: usize>(
    content: &Path,
    styles: &[(PathBuf, f64)],
    init: Option<&Path>,
    options: &LoadOptions,
) -> Result<(Inputs<N>, Source)> {
    let (content_t, mut source) = data::load_with::<N>(content, options)?;
    let mut loaded = Vec::with_capacity(styles.len());
    for (path, w) in styles {
        let (t, style_source) = data::load_with::<N>(path, &style_options(path, options))?;
        same_rate(path, &style_source, content, &source)?;
        source.notes.extend(style_source.notes);
        loaded.push((adapt(path, content, &content_t, t, &mut source)?, *w));
    }
    let init = init.map(|p| load_init(p, options, content, &content_t, &source)).transpose()?;
    Ok((Inputs { content: content_t, styles: loaded, init }, source))
}

/// A starting point read from `p`, which must have the content's shape. A file its format leaves
/// as stored is mapped by the content's working-range scaling, not by its own, so the result
/// starts from the file's values in the content's units.
pub fn load_init<const N: usize>(
    p: &Path,
    options: &LoadOptions,
    content: &Path,
    content_t: &Tensor<N>,
    source: &Source,
) -> Result<Tensor<N>> {
    let (t, own) = data::load_with::<N>(p, &LoadOptions { working_range: false, ..*options })?;
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
    if options.working_range && own.scaling == Scaling::Identity {
        return source.scaling.apply(&t);
    }
    Ok(t)
}

/// How a style is read: a `.npy` style takes the content's `--rank` only when one was given, and
/// a volume the style window where one was given.
pub fn style_options(path: &Path, options: &LoadOptions) -> LoadOptions {
    let npy = data::kind_of(path).is_ok_and(|k| k.is_none());
    LoadOptions {
        rank: options.rank.filter(|_| npy),
        window: options.style_window.or(options.window),
        ..*options
    }
}

/// Style `t` (read from `path`) with the channels of the content, noting any adaptation.
pub fn adapt<const N: usize, const M: usize>(
    path: &Path,
    content: &Path,
    content_t: &Tensor<N>,
    t: Tensor<M>,
    source: &mut Source,
) -> Result<Tensor<M>> {
    let (t, note) = adapt_channels(&t, content_t.channels()).map_err(|e| {
        let detail = match e {
            Error::Shape { detail, .. } => detail,
            other => other.to_string(),
        };
        Error::format(path, format!("{detail} (content {})", content.display()))
    })?;
    source.notes.extend(note.map(|n| format!("{}: {n}", path.display())));
    Ok(t)
}

/// Refuse a style recorded at another sampling rate than the content: a pattern at 360 Hz is not
/// the same pattern at 1000 Hz, and nothing here resamples it silently.
pub fn same_rate(path: &Path, style: &Source, content: &Path, of: &Source) -> Result<()> {
    let rate = |s: &Source| {
        s.meta.signal.as_ref().map(|m| m.fs).or(s.meta.audio.as_ref().map(|(a, _, _)| a.sample_rate as f64))
    };
    match (rate(style), rate(of)) {
        (Some(a), Some(b)) if (a - b).abs() > 1e-6 * b => Err(Error::format(
            path,
            format!(
                "is sampled at {a} Hz but the content {} at {b} Hz; resample the style to {b} Hz first",
                content.display()
            ),
        )),
        _ => Ok(()),
    }
}
