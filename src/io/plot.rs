//! Loss curves as a PNG line plot (log-scale y, one line per series, legend), drawn with `plotters` and an embedded font.
//!
//! plotters is built without default features (which would link the system's fontconfig and
//! freetype): it rasterises text with `ab_glyph` from DejaVu Sans bytes embedded by the `dejavu`
//! crate, and draws into an in-memory RGB buffer that the `image` crate encodes as PNG, so the
//! file is written atomically like every other output and plotters' own encoder (tied to an older
//! `image` release) is not needed.

use super::atomic_write_bytes;
use crate::error::{Error, Result};
use ::image::codecs::png::PngEncoder;
use ::image::{ExtendedColorType, ImageEncoder};
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

/// The size in pixels (width, height) of [`plot_losses`]' output.
pub const PLOT_SIZE: (u32, u32) = (800, 500);

/// Registers the embedded font as plotters' `sans-serif` family, once per process.
fn register_font() -> std::result::Result<(), String> {
    static DONE: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| "the embedded DejaVu Sans font was rejected".to_string())
    })
    .clone()
}

/// Plots `series` (name, `(x, y)` points) to a PNG of [`PLOT_SIZE`]; see [`plot_losses_with_size`].
pub fn plot_losses<S: AsRef<str>>(
    path: impl AsRef<Path>,
    title: &str,
    series: &[(S, Vec<(f64, f64)>)],
) -> Result<()> {
    plot_losses_with_size(path, title, series, PLOT_SIZE)
}

/// Plots `series` as lines on a log-scale y axis ("loss") against x ("iteration"), with a legend,
/// to a PNG of `size` = (width, height) pixels, written atomically.
///
/// Points whose y is not finite and positive cannot be shown on a log scale and are skipped (a
/// series with none left is left out of the plot and the legend); a series with one point is
/// drawn as a dot. No point left at all, a size under 200×150, or a path not ending in `.png` is
/// an error naming the file, and nothing is written.
pub fn plot_losses_with_size<S: AsRef<str>>(
    path: impl AsRef<Path>,
    title: &str,
    series: &[(S, Vec<(f64, f64)>)],
    size: (u32, u32),
) -> Result<()> {
    let path = path.as_ref();
    let what = || format!("plot for {}", path.display());
    if super::extension(path) != "png" {
        return Err(Error::format(path, "a plot is written as PNG: the file name must end in .png"));
    }
    if size.0 < 200 || size.1 < 150 {
        return Err(Error::invalid(what(), format!("size {}×{} is under 200×150 pixels", size.0, size.1)));
    }
    let kept: Vec<(&str, Vec<(f64, f64)>)> = series
        .iter()
        .map(|(name, pts)| {
            let pts =
                pts.iter().copied().filter(|&(x, y)| x.is_finite() && y.is_finite() && y > 0.0).collect();
            (name.as_ref(), pts)
        })
        .filter(|(_, pts): &(&str, Vec<_>)| !pts.is_empty())
        .collect();
    let all = kept.iter().flat_map(|(_, p)| p.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if kept.is_empty() {
        return Err(Error::invalid(
            what(),
            "nothing to plot: no series has a finite positive value (needed on a log scale)",
        ));
    }
    if x0 == x1 {
        (x0, x1) = (x0 - 1.0, x1 + 1.0);
    }
    // A margin of a fifth of a decade (or half a decade around a single value) on the log axis.
    let pad = if y0 == y1 { 10f64.powf(0.5) } else { (y1 / y0).powf(0.05).max(1.05) };
    let (y0, y1) = (y0 / pad, y1 * pad);

    register_font().map_err(|e| Error::format(path, e))?;
    let (w, h) = size;
    let mut buf = vec![0u8; w as usize * h as usize * 3];
    draw(&mut buf, size, title, &kept, (x0, x1), (y0, y1))
        .map_err(|e| Error::format(path, format!("cannot draw the plot: {e}")))?;
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(&buf, w, h, ExtendedColorType::Rgb8)
        .map_err(|e| Error::format(path, format!("cannot encode: {e}")))?;
    atomic_write_bytes(path, &png)
}

type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

fn draw(
    buf: &mut [u8],
    size: (u32, u32),
    title: &str,
    series: &[(&str, Vec<(f64, f64)>)],
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> DrawResult {
    let root = BitMapBackend::with_buffer(buf, size).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, (y0..y1).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("iteration")
        .y_desc("loss")
        .x_label_formatter(&|v| if x1 - x0 >= 10.0 { format!("{v:.0}") } else { format!("{v}") })
        .y_label_formatter(&|v| format!("{v:.1e}"))
        .label_style(("sans-serif", 13))
        .draw()?;
    for (i, (name, pts)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let style = color.stroke_width(2);
        let line = LineSeries::new(pts.iter().copied(), style).point_size(if pts.len() == 1 { 4 } else { 0 });
        chart
            .draw_series(line)?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    root.present()?;
    Ok(())
}
