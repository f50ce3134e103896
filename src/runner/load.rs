//! Reading a run's input files as tensors of one rank (shared by `stylize` and experiments).

use std::path::{Path, PathBuf};

use super::Inputs;
use crate::data::{self, LoadOptions, Source};
use crate::error::{Error, Result};
use crate::modality::color::adapt_channels;
use crate::modality::format::Scaling;
use crate::modality::{signal, volume, Kind};
use crate::tensor::Tensor;

/// Read the content, the styles (with their blend weights) and an optional starting point as
/// rank-`N` tensors, within `max_side` (see [`LoadOptions::max_side`]). Every style must have the
/// content's channels. Returns the inputs and how the content was stored, so the result is written
/// alike.
pub fn load_inputs<const N: usize>(
    content: &Path,
    styles: &[(PathBuf, f64)],
    init: Option<&Path>,
    options: &LoadOptions,
) -> Result<(Inputs<N>, Source)> {
    let (content_t, mut source) = data::load_with::<N>(content, options)?;
    let mut loaded = Vec::with_capacity(styles.len());
    for (path, w) in styles {
        let (t, mut style_source) = data::load_with::<N>(path, &style_options(path, options))?;
        let t = signal::follow_rate(path, t, &mut style_source, &content_t, &mut source)?;
        same_rate(path, &style_source, content, &source)?;
        source.notes.extend(volume::spacing_note(path, &style_source, &source));
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
    // Compared as stored, before `max_side` shrank either.
    let (a, b) = (stored(&t, &own), stored(content_t, source));
    if a != b {
        return Err(Error::format(
            p,
            format!(
                "shape {a}, but the content {} has shape {b}: a starting point must have the content's shape",
                content.display()
            ),
        ));
    }
    if options.working_range && own.scaling == Scaling::Identity {
        return source.scaling.apply(&t);
    }
    Ok(t)
}

/// The shape of `t` as its file stores it (`1×1×32`), before any `max_side` resize.
fn stored<const N: usize>(t: &Tensor<N>, s: &Source) -> String {
    let spatial = s.resized_from.clone().unwrap_or_else(|| t.spatial().to_vec());
    crate::tensor::shrink::dims(&[&[t.batch(), t.channels()], &spatial[..]].concat())
}

/// How a style is read: a `.npy` style takes the content's `--rank` only when one was given; a
/// volume the style window where one was given; a signal style is read whole (its rate then
/// follows the content's, see [`signal::follow_rate`]).
pub fn style_options(path: &Path, options: &LoadOptions) -> LoadOptions {
    let kind = data::kind_of(path);
    let npy = kind.as_ref().is_ok_and(|k| k.is_none());
    let signal = kind.is_ok_and(|k| k == Some(Kind::Signal));
    LoadOptions {
        rank: options.rank.filter(|_| npy),
        max_side: options.max_side.filter(|_| !signal),
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
