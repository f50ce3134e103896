//! What a finished run leaves beside its result: the losses table and its plot.

use std::path::{Path, PathBuf};

use super::Outcome;
use crate::data::{self, Source};
use crate::error::Result;
use crate::io::csv::LossLogWriter;
use crate::io::plot::plot_losses;

/// `out` with its extension replaced by `suffix` (`out.png` → `out.losses.csv`; the double
/// extension `.nii.gz` counts as one, and a frames folder `out` gives `out.losses.csv`).
pub fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let name = out.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = match name.to_ascii_lowercase().strip_suffix(".nii.gz") {
        Some(s) if !s.is_empty() => name[..s.len()].to_string(),
        _ => out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into()),
    };
    out.with_file_name(format!("{stem}.{suffix}"))
}

/// `t` resized (linear interpolation) so that its longer spatial side is `side`, keeping the
/// aspect ratio (each side at least 1); used for `--size` / `outputs.size` of images.
pub fn resize_longer_side<const N: usize>(
    t: &crate::tensor::Tensor<N>,
    side: u32,
) -> Result<crate::tensor::Tensor<N>> {
    let sp = t.spatial();
    let longest = sp.iter().copied().max().unwrap_or(1).max(1) as f64;
    let out = sp.map(|s| ((s as f64 * side as f64 / longest).round() as usize).max(1));
    crate::tensor::resample::resize(t, out, crate::tensor::resample::Interp::Linear)
}

/// The result, the losses table and its plot (no plot when every loss is 0: a log scale has nothing to show).
pub fn write_outputs<const N: usize>(out: &Path, o: &Outcome<N>, source: Source) -> Result<()> {
    data::save(out, &o.result, &source)?;
    let csv = sibling(out, "losses.csv");
    let mut log = LossLogWriter::create(&csv, &o.style_layers)?;
    for row in &o.log {
        log.write_row(row)?;
    }
    let mut series =
        vec![("total".to_string(), o.log.iter().map(|r| (r.iteration as f64, r.total)).collect::<Vec<_>>())];
    series.push(("content".into(), o.log.iter().map(|r| (r.iteration as f64, r.content)).collect()));
    for (i, l) in o.style_layers.iter().enumerate() {
        series.push((format!("style {l}"), o.log.iter().map(|r| (r.iteration as f64, r.style[i])).collect()));
    }
    series.retain(|(_, pts)| pts.iter().any(|(_, y)| *y > 0.0));
    // A log-scale plot needs a positive loss; a run whose losses are all 0 has only its table.
    if !series.is_empty() {
        plot_losses(sibling(out, "losses.png"), "ndstyle losses", &series)?;
    }
    Ok(())
}
