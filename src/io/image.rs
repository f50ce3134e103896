//! PNG and JPEG images ⇄ `Tensor<2>` of batch 1 (grey → 1 channel, colour → 3), values in `[0, 1]`.

use super::{atomic_write_bytes, extension};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use ::image::codecs::jpeg::JpegEncoder;
use ::image::codecs::png::PngEncoder;
use ::image::imageops::{self, FilterType};
use ::image::{ColorType, ExtendedColorType, ImageBuffer, ImageEncoder, Luma, Rgb};
use std::path::Path;

/// The JPEG quality used by [`write_image`] (1–100).
pub const JPEG_QUALITY: u8 = 95;

/// The file formats this module reads and writes, chosen by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Png,
    Jpeg,
}

fn format_of(path: &Path) -> Result<Format> {
    match extension(path).as_str() {
        "png" => Ok(Format::Png),
        "jpg" | "jpeg" => Ok(Format::Jpeg),
        ext => Err(Error::format(
            path,
            format!(
                "unsupported image extension '{}' (expected .png, .jpg or .jpeg)",
                if ext.is_empty() { "(none)".to_string() } else { format!(".{ext}") }
            ),
        )),
    }
}

/// Reads a PNG or JPEG file as a `1 × C × H × W` tensor with values in `[0, 1]`.
///
/// Grey images (8- or 16-bit) give `C = 1`; colour images give `C = 3` (RGB). An alpha channel
/// is dropped, not composited: transparent pixels keep their stored colour. Values are the
/// stored integers divided by their maximum (255 or 65535), so an 8-bit image round-trips
/// exactly through [`write_image`].
///
/// With `max_side = Some(m)`, the image is resized (Lanczos3, in f32, then clamped to `[0, 1]`)
/// so that its longer side is `m` pixels, keeping the aspect ratio (the shorter side is rounded
/// and at least 1); an image whose longer side is already `m` is not resampled.
///
/// The extension must be `.png`, `.jpg` or `.jpeg` (any case); the content is decoded by what it
/// is, so a PNG named `.jpg` still loads. Errors name the file.
pub fn read_image(path: impl AsRef<Path>, max_side: Option<u32>) -> Result<Tensor<2>> {
    let path = path.as_ref();
    format_of(path)?;
    if max_side == Some(0) {
        return Err(Error::invalid(format!("max side for {}", path.display()), "must be at least 1 pixel"));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.is_empty() {
        return Err(Error::format(path, "the file is empty"));
    }
    complete(&bytes).map_err(|e| Error::format(path, e))?;
    check_budget(path, &bytes, max_side)?;
    let img =
        ::image::load_from_memory(&bytes).map_err(|e| Error::format(path, format!("cannot decode: {e}")))?;
    let color = img.color();
    let grey = !color.has_color();
    let channels = if grey { 1 } else { 3 };
    let (mut w, mut h) = (img.width(), img.height());
    // Interleaved f32 values, each the stored integer divided by its maximum (computed here, not by
    // the image crate, whose conversion is not exactly v / 255).
    let wide = matches!(color, ColorType::L16 | ColorType::La16 | ColorType::Rgb16 | ColorType::Rgba16);
    let scale = |max: f32| move |v: u16| v as f32 / max;
    let mut raw: Vec<f32> = match (grey, wide) {
        (true, false) => img.to_luma8().into_raw().into_iter().map(|v| scale(255.0)(v.into())).collect(),
        (true, true) => img.to_luma16().into_raw().into_iter().map(scale(65535.0)).collect(),
        _ if matches!(color, ColorType::Rgb32F | ColorType::Rgba32F) => img.to_rgb32f().into_raw(),
        (false, false) => img.to_rgb8().into_raw().into_iter().map(|v| scale(255.0)(v.into())).collect(),
        (false, true) => img.to_rgb16().into_raw().into_iter().map(scale(65535.0)).collect(),
    };
    drop(img);
    if let Some(m) = max_side.filter(|&m| m != w.max(h)) {
        // The longer side becomes m; the shorter one is scaled and rounded (at least 1).
        let short = |s: u32| ((s as f64 * m as f64 / w.max(h) as f64).round() as u32).max(1);
        let (nw, nh) = if w >= h { (m, short(h)) } else { (short(w), m) };
        let bad = || Error::format(path, "decoded pixel buffer has the wrong size");
        raw = if grey {
            let buf = ImageBuffer::<Luma<f32>, _>::from_raw(w, h, raw).ok_or_else(bad)?;
            imageops::resize(&buf, nw, nh, FilterType::Lanczos3).into_raw()
        } else {
            let buf = ImageBuffer::<Rgb<f32>, _>::from_raw(w, h, raw).ok_or_else(bad)?;
            imageops::resize(&buf, nw, nh, FilterType::Lanczos3).into_raw()
        };
        (w, h) = (nw, nh);
    }
    let (w, h) = (w as usize, h as usize);
    let mut data = vec![0.0f32; channels * h * w];
    for c in 0..channels {
        let plane = &mut data[c * h * w..(c + 1) * h * w];
        for (i, v) in plane.iter_mut().enumerate() {
            // Lanczos overshoots; float images may hold anything.
            *v = raw[channels * i + c].clamp(0.0, 1.0);
        }
    }
    Tensor::from_vec(1, channels, [h, w], data).map_err(|e| Error::format(path, e.to_string()))
}

/// Refuse a PNG without its `IEND` chunk or a JPEG without its end-of-image marker (decoders fill
/// the missing rows of a truncated file with grey rather than fail). Other content is left to the
/// decoder.
fn complete(b: &[u8]) -> std::result::Result<(), String> {
    let truncated = |what: &str| Err(format!("truncated {what} file: it ends before its last chunk"));
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        let mut i = 8usize;
        while i + 8 <= b.len() {
            let len = u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
            if &b[i + 4..i + 8] == b"IEND" {
                return Ok(());
            }
            i = i.saturating_add(12).saturating_add(len);
        }
        return truncated("PNG");
    }
    if b.starts_with(&[0xFF, 0xD8]) {
        let mut i = 2usize;
        loop {
            while i < b.len() && b[i] != 0xFF {
                i += 1;
            }
            while i < b.len() && b[i] == 0xFF {
                i += 1;
            }
            let Some(&m) = b.get(i) else { return truncated("JPEG") };
            i += 1;
            match m {
                0xD9 => return Ok(()),
                0x01 | 0xD0..=0xD7 => continue,
                _ => {}
            }
            let (Some(&hi), Some(&lo)) = (b.get(i), b.get(i + 1)) else { return truncated("JPEG") };
            i += u16::from_be_bytes([hi, lo]) as usize;
            if i > b.len() {
                return truncated("JPEG");
            }
            if m == 0xDA {
                // Entropy-coded data: runs to the next marker other than a stuffed 0xFF00 or a restart.
                loop {
                    let (Some(&x), Some(&y)) = (b.get(i), b.get(i + 1)) else { return truncated("JPEG") };
                    if x == 0xFF && y != 0 && y != 0xFF && !(0xD0..=0xD7).contains(&y) {
                        break;
                    }
                    i += 1;
                }
            }
        }
    }
    Ok(())
}

/// Refuse, from the header's dimensions and before decoding, an image (or its `max_side` resize)
/// larger than the memory budget.
fn check_budget(path: &Path, bytes: &[u8], max_side: Option<u32>) -> Result<()> {
    let reader = ::image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::format(path, format!("cannot decode: {e}")))?;
    let (w, h) = reader.into_dimensions().map_err(|e| Error::format(path, format!("cannot decode: {e}")))?;
    let (w, h) = (w as usize, h as usize);
    // Decoded pixels (up to 16-bit RGBA, 8 bytes) and two f32 RGB copies (24 bytes).
    crate::budget::check(
        &format!("{}: decoding a {w}×{h} image", path.display()),
        crate::budget::f32_bytes(&[w, h, 8]),
        "use a smaller image",
    )?;
    if let Some(m) = max_side {
        let (long, short) = (w.max(h).max(1) as f64, w.min(h) as f64);
        let other = ((short * m as f64 / long).round() as usize).max(1);
        crate::budget::check(
            &format!("{}: resizing to a longer side of {m} (--max-side)", path.display()),
            crate::budget::f32_bytes(&[m as usize, other, 3, 3]),
            "lower --max-side",
        )?;
    }
    Ok(())
}

/// Writes a `1 × C × H × W` tensor (`C` = 1 grey or 3 RGB) as an 8-bit PNG or JPEG, chosen by
/// the extension (`.png`, `.jpg`, `.jpeg`).
///
/// Values are clamped to `[0, 1]` and mapped to `round(v · 255)`; NaN becomes 0. JPEG uses
/// quality [`JPEG_QUALITY`]. The image is encoded in memory and then written atomically, so an
/// error (a bad extension, a batch other than 1, a channel count other than 1 or 3, an empty
/// image) writes nothing. Errors name the file.
pub fn write_image(path: impl AsRef<Path>, t: &Tensor<2>) -> Result<()> {
    let path = path.as_ref();
    let format = format_of(path)?;
    let what = || format!("image for {}", path.display());
    let (c, [h, w]) = (t.channels(), t.spatial());
    if t.batch() != 1 {
        return Err(Error::invalid(what(), format!("expected batch 1, got shape {}", t.shape_string())));
    }
    if c != 1 && c != 3 {
        return Err(Error::invalid(
            what(),
            format!("expected 1 (grey) or 3 (RGB) channels, got shape {}", t.shape_string()),
        ));
    }
    if h == 0 || w == 0 || h > u32::MAX as usize || w > u32::MAX as usize {
        return Err(Error::invalid(what(), format!("cannot write an image of shape {}", t.shape_string())));
    }
    let p = h * w;
    let mut pixels = vec![0u8; c * p];
    for ch in 0..c {
        for (i, &v) in t.channel(0, ch).iter().enumerate() {
            pixels[i * c + ch] = to_u8(v);
        }
    }
    let color = if c == 1 { ExtendedColorType::L8 } else { ExtendedColorType::Rgb8 };
    let mut bytes = Vec::new();
    let encoded = match format {
        Format::Png => PngEncoder::new(&mut bytes).write_image(&pixels, w as u32, h as u32, color),
        Format::Jpeg => JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)
            .write_image(&pixels, w as u32, h as u32, color),
    };
    encoded.map_err(|e| Error::format(path, format!("cannot encode: {e}")))?;
    atomic_write_bytes(path, &bytes)
}

/// `[0, 1]` → `0..=255`, rounding to nearest; NaN → 0.
fn to_u8(v: f32) -> u8 {
    if v.is_nan() {
        0
    } else {
        (v.clamp(0.0, 1.0) * 255.0).round() as u8
    }
}
