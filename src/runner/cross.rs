//! A run with rank-(N−1) styles on a rank-N content: 2D paintings on video or volumes, 1D signals on images.
//!
//! The style term compares each style's Gram matrices, computed once by the rank-M extractor
//! (`M = N − 1`), with those of the result's slices across the chosen axes
//! ([`crate::losses::SliceStyle`]); content and total variation use the rank-N extractor
//! ([`crate::losses::Objective`]), and a video may add the temporal term
//! ([`crate::losses::temporal`]). Pyramid levels, the starting point, the optimiser, the stop
//! rules and the progress reports are those of [`super::stylize`], with the same [`Settings`];
//! checkpoints are not written (`checkpoint_every` is ignored), and tiling applies to the
//! rank-N content term only (the slices of an axis are evaluated as one batch, within the budget).
//!
//! The log's style columns ([`Outcome::style_layers`]) are one per style layer and axis, named
//! `layer@axis` (`relu1@0`), then `temporal` when that term is on.

use std::time::Instant;

use super::axes::{ContentKind, SliceAxes};
use super::level::LevelRun;
use super::tiling::level_tile;
use super::Settings;
use super::{
    check_styles, layer_choice, level_size, level_start, level_styles, LevelStop, Outcome, Progress,
};
use crate::budget;
use crate::error::{Error, Result};
use crate::extractors::{self, Extractor};
use crate::losses::{temporal, CrossObjective, Objective, SliceStyle, TemporalMask};
use crate::tensor::resample::{resize, Interp};
use crate::tensor::slice::slice_shape;
use crate::tensor::Tensor;
use crate::tile::activation_bytes;

/// The temporal weight [`CrossSettings::for_kind`] gives a video. With the default style weight
/// (β = 1e3, lecture normalisation) it brings a stylised moving-disc video's flicker down to about
/// the content's own (8× less than without), the style cost within a factor 2–3 of the unbound one.
pub const VIDEO_TEMPORAL_WEIGHT: f64 = 1.0;

/// What a cross-rank run needs beyond [`Settings`].
#[derive(Clone, Debug, PartialEq)]
pub struct CrossSettings {
    /// The axes to slice across (resolved against `kind` and the content's rank).
    pub axes: SliceAxes,
    /// What the content is: decides the default axes.
    pub kind: ContentKind,
    /// Weight of the temporal term (time along axis 0); 0 turns it off.
    pub temporal: f64,
    /// Sharpness `k` of the temporal mask `exp(−k·|c_t − c_{t−1}|)`.
    pub temporal_k: f64,
}

impl CrossSettings {
    /// The defaults for a content of kind `kind`: automatic axes, and the temporal term at
    /// [`VIDEO_TEMPORAL_WEIGHT`] for video, off otherwise.
    pub fn for_kind(kind: ContentKind) -> Self {
        let temporal = if kind == ContentKind::Video { VIDEO_TEMPORAL_WEIGHT } else { 0.0 };
        CrossSettings { axes: SliceAxes::Auto, kind, temporal, temporal_k: temporal::DEFAULT_K }
    }

    /// Reject values no run can use, naming the setting.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [("temporal weight", self.temporal), ("temporal k", self.temporal_k)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::invalid(name, format!("{v} (must be finite and >= 0)")));
            }
        }
        Ok(())
    }
}

impl Default for CrossSettings {
    fn default() -> Self {
        CrossSettings::for_kind(ContentKind::Other)
    }
}

/// The inputs of a cross-rank run: a rank-N content, rank-M styles (`M = N − 1`) with their
/// blend weights, and the starting point for [`super::Init::File`].
#[derive(Clone, Debug)]
pub struct CrossInputs<const N: usize, const M: usize> {
    pub content: Tensor<N>,
    pub styles: Vec<(Tensor<M>, f64)>,
    pub init: Option<Tensor<N>>,
}

/// Run style transfer of `inputs.styles` (rank M = N − 1) onto `inputs.content` (rank N); see
/// the module documentation. Styles must have the content's channels
/// ([`crate::modality::color::adapt_channels`] adapts them).
pub fn stylize_cross<const N: usize, const M: usize>(
    settings: &Settings,
    cross: &CrossSettings,
    inputs: &CrossInputs<N, M>,
    on_iter: &mut dyn FnMut(&Progress) -> Result<()>,
) -> Result<Outcome<N>> {
    settings.validate()?;
    cross.validate()?;
    if M + 1 != N {
        return Err(Error::invalid(
            "style rank",
            format!("rank-{M} styles on a rank-{N} content (the style must be one rank lower)"),
        ));
    }
    let c = inputs.content.channels();
    check_styles(c, &inputs.styles)?;
    let axes = cross.axes.resolve(cross.kind, N)?;
    let ext_n = extractors::build::<N>(&settings.extractor, c)?;
    let ext_m = extractors::build::<M>(&settings.extractor, c)?;
    let (content_layers, style_layers) = layer_choice(settings, &ext_n, &ext_m);
    // The finest level is the largest: refuse now what would not fit there.
    level_tile(settings, &ext_n.net, &content_layers, &[], &inputs.content, &[])?;
    check_slices(&ext_m, &style_layers, inputs.content.spatial(), &axes)?;
    let started = Instant::now();
    let (mut x, mut log, mut stops, mut names) = (None, Vec::new(), Vec::new(), Vec::new());
    for level in 0..settings.levels {
        let size = level_size(inputs.content.spatial(), settings.levels, level);
        let content = resize(&inputs.content, size, Interp::Linear)?;
        let styles = level_styles(&inputs.styles, settings.levels, level)?;
        let cur = level_start(settings, x.take(), inputs.init.as_ref(), &content)?;
        let style_refs: Vec<(&Tensor<M>, f64)> = styles.iter().map(|(s, w)| (s, *w)).collect();
        let use_content = settings.weights.content != 0.0;
        let tile = level_tile(settings, &ext_n.net, &content_layers, &[], &content, &[])?;
        let base = Objective::tiled(
            &ext_n.net,
            settings.weights.clone(),
            use_content.then_some((&content, content_layers.as_slice())),
            &[],
            &[],
            tile,
        )?;
        let style = SliceStyle::new(&ext_m.net, settings.weights.norm, &style_refs, &style_layers, &axes)?;
        let temporal = if cross.temporal > 0.0 {
            Some((TemporalMask::new(&content, cross.temporal_k)?, cross.temporal))
        } else {
            None
        };
        let obj = CrossObjective::new(base, style, temporal)?;
        names = obj.names();
        let run = LevelRun { settings, level, start_iter: 0, optimizer: None, started };
        let (cur, summary) = run.run(cur, &|t| obj.eval(t), &mut log, on_iter, &mut |_, _, _, _| Ok(()))?;
        let tiles = obj.base().tiles(size)?;
        stops.push(LevelStop { level, iterations: summary.iters, reason: summary.reason, tiles });
        x = Some(cur);
    }
    let result = x.ok_or_else(|| Error::invalid("levels", "at least one pyramid level is needed"))?;
    Ok(Outcome { result, log, style_layers: names, stops })
}

/// Refuse slice batches whose forward and backward passes would exceed the memory budget.
fn check_slices<const N: usize, const M: usize>(
    ext: &Extractor<M>,
    style_layers: &[(String, f64)],
    spatial: [usize; N],
    axes: &[usize],
) -> Result<()> {
    let layers: Vec<&str> = style_layers.iter().map(|(l, _)| l.as_str()).collect();
    for &axis in axes {
        let one = activation_bytes(&ext.net, &layers, slice_shape::<N, M>(spatial, axis)?)?;
        budget::check(
            &format!("the {} slices across axis {axis} of a {spatial:?} content", spatial[axis]),
            one as u128 * spatial[axis] as u128,
            "lower --max-side (inputs.max_side) or slice across fewer axes",
        )?;
    }
    Ok(())
}
