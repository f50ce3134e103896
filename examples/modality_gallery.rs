//! Renders one modality's content, style and result side by side as one PNG, for docs/gallery.md.
//!
//!     cargo run --release --example modality_gallery -- KIND OUT.png CONTENT STYLE RESULT
//!
//! KIND is `ecg` (2.5 s strip of every lead: rows leads, columns content | style | result), `audio`
//! (log-magnitude spectrograms `ln(1 + |STFT|)` with n_fft 512, hop 128, low frequencies at the
//! bottom, one colour scale for all three; the result is read back from its WAV), `image`,
//! `volume` (rows the middle slices across axes 0, 1, 2; grey from the content's minimum to its
//! maximum) or `video` (rows 4 frames spread over the clip). Files are read as stored
//! (`LoadOptions::default()`); columns are content | style | result, 4 px white gaps.

use std::path::Path;

use anyhow::{bail, Context, Result};
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::{imageops, Rgb, RgbImage};
use ndstyle::data::{load_any, LoadOptions};
use ndstyle::experiment::line_plot;
use ndstyle::modality::audio::{read_wav_spectrogram, StftConfig};
use ndstyle::tensor::Tensor;

const GAP: u32 = 4;
/// Seconds of each ECG lead shown.
const ECG_SECONDS: f64 = 2.5;
/// Frames of a video shown.
const VIDEO_FRAMES: usize = 4;
/// Colour steps of a spectrogram.
const HEAT_LEVELS: f32 = 32.0;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, out, files @ ..] = args.as_slice() else {
        bail!("usage: modality_gallery ecg|audio|image|volume|video OUT.png CONTENT STYLE RESULT");
    };
    if files.len() != 3 {
        bail!("{kind}: need three inputs (content, style, result), got {}", files.len());
    }
    let paths: Vec<&Path> = files.iter().map(Path::new).collect();
    let columns = match kind.as_str() {
        "ecg" => paths.iter().map(|p| ecg(p)).collect::<Result<Vec<_>>>()?,
        "audio" => spectrograms(&paths)?,
        "image" => paths
            .iter()
            .map(|p| Ok(vec![enlarge(&to_rgb(&image(p)?, (0.0, 1.0)), 2)]))
            .collect::<Result<_>>()?,
        "volume" => volumes(&paths)?,
        "video" => paths.iter().map(|p| video(p)).collect::<Result<Vec<_>>>()?,
        other => bail!("unknown kind {other:?}: ecg, audio, image, volume or video"),
    };
    let sheet = grid(&columns);
    let file = std::fs::File::create(out).with_context(|| format!("creating {out}"))?;
    let png = PngEncoder::new_with_quality(
        std::io::BufWriter::new(file),
        CompressionType::Best,
        PngFilter::Adaptive,
    );
    sheet.write_with_encoder(png).with_context(|| format!("writing {out}"))?;
    println!("wrote {out} ({}×{})", sheet.width(), sheet.height());
    Ok(())
}

/// Reads `path` as stored and checks its rank.
fn load<const N: usize>(path: &Path) -> Result<Tensor<N>> {
    let (t, _) = load_any(path, &LoadOptions::default())?;
    Ok(t.into_rank::<N>(&path.display().to_string())?)
}

fn image(path: &Path) -> Result<Tensor<2>> {
    load::<2>(path)
}

/// One strip per lead: the first [`ECG_SECONDS`] of it.
fn ecg(path: &Path) -> Result<Vec<RgbImage>> {
    let (t, source) = load_any(path, &LoadOptions::default())?;
    let t = t.into_rank::<1>(&path.display().to_string())?;
    let fs = source.meta.signal.as_ref().map_or(500.0, |m| m.fs);
    let [len] = t.spatial();
    let n = ((ECG_SECONDS * fs).round() as usize).min(len);
    (0..t.channels())
        .map(|c| {
            let lead = Tensor::<1>::from_vec(1, 1, [n], t.channel(0, c)[..n].to_vec())?;
            Ok(to_rgb(&line_plot(&lead, [90, 420]), (0.0, 1.0)))
        })
        .collect()
}

/// The three spectrograms on one colour scale (0 to the largest value of the three).
fn spectrograms(paths: &[&Path]) -> Result<Vec<Vec<RgbImage>>> {
    let cfg = StftConfig { n_fft: 512, hop: 128 };
    let specs =
        paths.iter().map(|p| Ok(read_wav_spectrogram(p, cfg)?.0)).collect::<Result<Vec<Tensor<1>>>>()?;
    let hi = specs.iter().flat_map(|s| s.data()).fold(0.0f32, |m, &v| m.max(v)).max(1e-6);
    Ok(specs
        .iter()
        .map(|s| {
            let (bins, [frames]) = (s.channels(), s.spatial());
            let img = RgbImage::from_fn(frames as u32, bins as u32, |x, y| {
                heat(s.at(0, bins - 1 - y as usize, [x as usize]) / hi)
            });
            vec![img]
        })
        .collect())
}

/// Middle slices across each axis, grey over the content's range.
fn volumes(paths: &[&Path]) -> Result<Vec<Vec<RgbImage>>> {
    let vols = paths.iter().map(|p| load::<3>(p)).collect::<Result<Vec<_>>>()?;
    let range =
        vols[0].data().iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    Ok(vols
        .iter()
        .map(|v| (0..3).map(|axis| enlarge(&to_rgb(&mid_slice(v, axis), range), 4)).collect())
        .collect())
}

/// The middle slice of `v` across `axis` (0, 1 or 2), its first remaining axis going down.
fn mid_slice(v: &Tensor<3>, axis: usize) -> Tensor<2> {
    let dims = v.spatial();
    let (a, b) = match axis {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    };
    let mut s = Tensor::<2>::zeros(1, v.channels(), [dims[a], dims[b]]);
    for c in 0..v.channels() {
        for i in 0..dims[a] {
            for j in 0..dims[b] {
                let mut idx = [dims[0] / 2, dims[1] / 2, dims[2] / 2];
                (idx[a], idx[b]) = (i, j);
                // Rows upwards, so that the volume's second and third axes point up and right.
                *s.at_mut(0, c, [dims[a] - 1 - i, j]) = v.at(0, c, idx);
            }
        }
    }
    s
}

/// [`VIDEO_FRAMES`] frames spread evenly over the clip, first to last.
fn video(path: &Path) -> Result<Vec<RgbImage>> {
    let v = load::<3>(path)?;
    let [t, h, w] = v.spatial();
    let picks: Vec<usize> = (0..VIDEO_FRAMES).map(|k| k * (t - 1) / (VIDEO_FRAMES - 1).max(1)).collect();
    picks
        .iter()
        .map(|&f| {
            let mut frame = Tensor::<2>::zeros(1, v.channels(), [h, w]);
            for c in 0..v.channels() {
                for i in 0..h {
                    for j in 0..w {
                        *frame.at_mut(0, c, [i, j]) = v.at(0, c, [f, i, j]);
                    }
                }
            }
            Ok(enlarge(&to_rgb(&frame, (0.0, 1.0)), 4))
        })
        .collect()
}

/// An RGB picture of a 1- or 3-channel tensor, values mapped from `lo..hi` to black..white.
fn to_rgb(t: &Tensor<2>, (lo, hi): (f32, f32)) -> RgbImage {
    let [h, w] = t.spatial();
    let q = |v: f32| (((v - lo) / (hi - lo).max(1e-12)).clamp(0.0, 1.0) * 255.0).round() as u8;
    let ch = |c: usize| if t.channels() >= 3 { c } else { 0 };
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let at = |c| q(t.at(0, ch(c), [y as usize, x as usize]));
        Rgb([at(0), at(1), at(2)])
    })
}

fn enlarge(img: &RgbImage, k: u32) -> RgbImage {
    imageops::resize(img, img.width() * k, img.height() * k, imageops::FilterType::Nearest)
}

/// A black–purple–orange–yellow colour for `u` in [0, 1], in [`HEAT_LEVELS`] steps (which keeps
/// the PNG of a noisy spectrogram small).
fn heat(u: f32) -> Rgb<u8> {
    const STOPS: [[f32; 3]; 5] =
        [[0.0, 0.0, 0.02], [0.26, 0.04, 0.41], [0.73, 0.21, 0.33], [0.98, 0.55, 0.04], [0.99, 1.0, 0.64]];
    let u = (u.clamp(0.0, 1.0) * HEAT_LEVELS).round() / HEAT_LEVELS;
    let x = u * (STOPS.len() - 1) as f32;
    let k = (x as usize).min(STOPS.len() - 2);
    let f = x - k as f32;
    let mix = |c: usize| ((STOPS[k][c] * (1.0 - f) + STOPS[k + 1][c] * f) * 255.0).round() as u8;
    Rgb([mix(0), mix(1), mix(2)])
}

/// Columns of tiles (content, style, result), each column's tiles stacked, with white gaps.
fn grid(columns: &[Vec<RgbImage>]) -> RgbImage {
    let widths: Vec<u32> = columns.iter().map(|c| c.iter().map(|t| t.width()).max().unwrap_or(0)).collect();
    let rows = columns.iter().map(|c| c.len()).max().unwrap_or(0);
    let heights: Vec<u32> = (0..rows)
        .map(|r| columns.iter().filter_map(|c| c.get(r)).map(|t| t.height()).max().unwrap_or(0))
        .collect();
    let span = |v: &[u32]| v.iter().sum::<u32>() + GAP * (v.len() as u32).saturating_sub(1);
    let mut sheet = RgbImage::from_pixel(span(&widths), span(&heights), Rgb([255, 255, 255]));
    let mut x = 0;
    for (col, w) in columns.iter().zip(&widths) {
        let mut y = 0;
        for (tile, h) in col.iter().zip(&heights) {
            imageops::replace(&mut sheet, tile, x as i64, y as i64);
            y += h + GAP;
        }
        x += w + GAP;
    }
    sheet
}
