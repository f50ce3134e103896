//! Video and images: PNG frame folders, `.npy` (T, H, W, C) arrays, single images, and a synthetic clip.
//!
//! A video is the tensor `1 × C × T × H × W`: time is the first spatial axis, so a 3D extractor
//! sees it as depth. Pixel values are scaled to [0, 1] (8-bit by 255, 16-bit by 65535). Frames
//! whose first image is grey give C = 1, otherwise C = 3 (RGB; alpha is dropped).

use std::path::{Path, PathBuf};

use image::{ColorType, DynamicImage, ImageBuffer, ImageFormat, Luma, Rgb};

use crate::error::{Error, Result};
use crate::io::npy::Layout;
use crate::tensor::Tensor;

/// What a frame folder or image carries besides its pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameMeta {
    /// Bits per sample of the source (8 or 16), used again for the output.
    pub bit_depth: u8,
}

impl Default for FrameMeta {
    fn default() -> Self {
        FrameMeta { bit_depth: 8 }
    }
}

fn is_grey(c: ColorType) -> bool {
    matches!(c, ColorType::L8 | ColorType::La8 | ColorType::L16 | ColorType::La16)
}

fn is_16(c: ColorType) -> bool {
    matches!(c, ColorType::L16 | ColorType::La16 | ColorType::Rgb16 | ColorType::Rgba16)
}

fn open_image(path: &Path) -> Result<DynamicImage> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let format =
        image::guess_format(&bytes).map_err(|e| Error::format(path, format!("not an image: {e}")))?;
    image::load_from_memory_with_format(&bytes, format)
        .map_err(|e| Error::format(path, format!("cannot decode image: {e}")))
}

/// Channel-major planes of `img` as `channels` (1 or 3) and `sixteen`-bit, scaled to [0, 1].
fn planes(img: &DynamicImage, channels: usize, sixteen: bool) -> Vec<f32> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let n = w * h;
    let mut out = vec![0.0f32; channels * n];
    match (channels, sixteen) {
        (1, false) => img.to_luma8().pixels().enumerate().for_each(|(i, p)| out[i] = p[0] as f32 / 255.0),
        (1, true) => img.to_luma16().pixels().enumerate().for_each(|(i, p)| out[i] = p[0] as f32 / 65535.0),
        (_, false) => img.to_rgb8().pixels().enumerate().for_each(|(i, p)| {
            (0..3).for_each(|c| out[c * n + i] = p[c] as f32 / 255.0);
        }),
        (_, true) => img.to_rgb16().pixels().enumerate().for_each(|(i, p)| {
            (0..3).for_each(|c| out[c * n + i] = p[c] as f32 / 65535.0);
        }),
    }
    out
}

fn check_pixels(path: &Path, batch: usize, channels: usize, data: &[f32]) -> Result<()> {
    if batch != 1 || !(channels == 1 || channels == 3) {
        return Err(Error::shape(
            "video: writing frames",
            format!("{}: need batch 1 and 1 or 3 channels, got {batch}×{channels}", path.display()),
        ));
    }
    crate::io::ensure_finite(path, data)
}

/// Save channel-major planes as one PNG.
fn save_png(path: &Path, planes: &[f32], c: usize, h: usize, w: usize, bit_depth: u8) -> Result<()> {
    let n = h * w;
    let q8 = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    let q16 = |v: f32| (v.clamp(0.0, 1.0) * 65535.0).round() as u16;
    let (wu, hu) = (w as u32, h as u32);
    let res = match (c, bit_depth == 16) {
        (1, false) => ImageBuffer::<Luma<u8>, _>::from_raw(
            wu,
            hu,
            planes[..n].iter().map(|&v| q8(v)).collect::<Vec<u8>>(),
        )
        .map(|b| b.save_with_format(path, ImageFormat::Png)),
        (1, true) => ImageBuffer::<Luma<u16>, _>::from_raw(
            wu,
            hu,
            planes[..n].iter().map(|&v| q16(v)).collect::<Vec<u16>>(),
        )
        .map(|b| b.save_with_format(path, ImageFormat::Png)),
        (_, false) => {
            let px: Vec<u8> = (0..n).flat_map(|i| (0..3).map(move |k| q8(planes[k * n + i]))).collect();
            ImageBuffer::<Rgb<u8>, _>::from_raw(wu, hu, px)
                .map(|b| b.save_with_format(path, ImageFormat::Png))
        }
        (_, true) => {
            let px: Vec<u16> = (0..n).flat_map(|i| (0..3).map(move |k| q16(planes[k * n + i]))).collect();
            ImageBuffer::<Rgb<u16>, _>::from_raw(wu, hu, px)
                .map(|b| b.save_with_format(path, ImageFormat::Png))
        }
    };
    match res {
        Some(Ok(())) => Ok(()),
        Some(Err(image::ImageError::IoError(e))) => Err(Error::io(path, e)),
        Some(Err(e)) => Err(Error::format(path, format!("writing PNG: {e}"))),
        None => Err(Error::shape(
            "video: writing frames",
            format!("{}: buffer does not match {w}×{h}", path.display()),
        )),
    }
}

/// The `.png` files of `dir`, sorted by file name.
fn frame_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let p = entry.map_err(|e| Error::io(dir, e))?.path();
        let png = p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png"));
        let hidden = p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if png && !hidden && p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(Error::format(dir, "no .png frames in this folder"));
    }
    Ok(files)
}

/// Read a folder of PNG frames, sorted by file name, as a `1 × C × T × H × W` tensor in [0, 1].
/// The first frame fixes C, the bit depth and the size; a frame of another size is an error
/// naming that frame.
pub fn read_frames(dir: &Path) -> Result<(Tensor<3>, FrameMeta)> {
    let files = frame_files(dir)?;
    let first = open_image(&files[0])?;
    let c = if is_grey(first.color()) { 1 } else { 3 };
    let sixteen = is_16(first.color());
    let (w, h) = (first.width() as usize, first.height() as usize);
    let tn = files.len();
    let n = h * w;
    let mut data = vec![0.0f32; c * tn * n];
    for (t, f) in files.iter().enumerate() {
        let img = if t == 0 { first.clone() } else { open_image(f)? };
        if (img.width() as usize, img.height() as usize) != (w, h) {
            return Err(Error::format(
                f,
                format!("frame is {}×{}, but the first frame is {w}×{h}", img.width(), img.height()),
            ));
        }
        let p = planes(&img, c, sixteen);
        for ch in 0..c {
            data[(ch * tn + t) * n..][..n].copy_from_slice(&p[ch * n..][..n]);
        }
    }
    let tensor = Tensor::from_vec(1, c, [tn, h, w], data)?;
    Ok((tensor, FrameMeta { bit_depth: if sixteen { 16 } else { 8 } }))
}

/// The file name of frame `t`: `frame_00000.png`, `frame_00001.png`, ….
pub fn frame_name(t: usize) -> String {
    format!("frame_{t:05}.png")
}

/// Write a `1 × C × T × H × W` tensor (C = 1 or 3) as `dir/frame_00000.png …`, creating `dir`.
/// Values are clipped to [0, 1]; other files in `dir` are left alone.
pub fn write_frames(dir: &Path, video: &Tensor<3>, meta: FrameMeta) -> Result<()> {
    check_pixels(dir, video.batch(), video.channels(), video.data())?;
    let [tn, h, w] = video.spatial();
    let (c, n) = (video.channels(), h * w);
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut frame = vec![0.0f32; c * n];
    for t in 0..tn {
        for ch in 0..c {
            frame[ch * n..][..n].copy_from_slice(&video.channel(0, ch)[t * n..][..n]);
        }
        let path = dir.join(frame_name(t));
        super::write_via_temp(&path, |tmp| save_png(tmp, &frame, c, h, w, meta.bit_depth))?;
    }
    Ok(())
}

/// Read a `.npy` array shaped (T, H, W, C) as a `1 × C × T × H × W` tensor (through [`crate::io::npy`]).
pub fn read_npy(path: &Path) -> Result<Tensor<3>> {
    let arr = crate::io::npy::read_npy(path)?;
    if arr.shape.len() != 4 {
        return Err(Error::format(
            path,
            format!("a video array must be shaped (T, H, W, C), got {}", arr.shape_string()),
        ));
    }
    crate::io::npy::to_tensor::<3>(arr, Layout::ChannelsLast, path)
}

/// Write a `1 × C × T × H × W` tensor as a `.npy` array shaped (T, H, W, C), dtype `<f4`.
pub fn write_npy(path: &Path, video: &Tensor<3>) -> Result<()> {
    if video.batch() != 1 {
        return Err(Error::shape(
            "video::write_npy",
            format!("batch must be 1, got {}", video.shape_string()),
        ));
    }
    crate::io::ensure_finite(path, video.data())?;
    let arr = crate::io::npy::from_tensor(video, Layout::ChannelsLast);
    crate::io::npy::write_npy(path, &arr.shape[1..], &arr.data)
}

/// A synthetic RGB clip of `frames` frames of `h × w`: a white disc of radius `h/5` moving left
/// to right over a red–green gradient (red along x, green along y, blue 0.25), as `1×3×T×H×W`.
pub fn moving_disc(frames: usize, h: usize, w: usize) -> Result<Tensor<3>> {
    if frames == 0 || h < 2 || w < 2 {
        return Err(Error::invalid("synthetic video size", format!("{frames}×{h}×{w} (T >= 1, H, W >= 2)")));
    }
    let n = h * w;
    let mut t = Tensor::zeros(1, 3, [frames, h, w]);
    let r = h.min(w) as f32 / 5.0;
    let cy = (h as f32 - 1.0) / 2.0;
    let out = t.data_mut();
    for f in 0..frames {
        let s = if frames == 1 { 0.5 } else { f as f32 / (frames - 1) as f32 };
        let cx = r + s * (w as f32 - 1.0 - 2.0 * r);
        for y in 0..h {
            for x in 0..w {
                let inside = (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) <= r * r;
                let rgb = if inside {
                    [1.0, 1.0, 1.0]
                } else {
                    [x as f32 / (w - 1) as f32, y as f32 / (h - 1) as f32, 0.25]
                };
                for ch in 0..3 {
                    out[(ch * frames + f) * n + y * w + x] = rgb[ch];
                }
            }
        }
    }
    Ok(t)
}

/// A folder of PNG frames as a format.
pub struct Frames;

impl super::format::Format for Frames {
    fn name(&self) -> &'static str {
        "frames"
    }
    fn kind(&self) -> Option<super::Kind> {
        Some(super::Kind::Video)
    }
    fn extensions(&self) -> &'static [&'static str] {
        &[]
    }
    /// A folder that exists, or (for outputs) a path with no extension that is not an HDF5 path.
    fn matches(&self, path: &Path) -> bool {
        path.is_dir() || (path.extension().is_none() && !path.to_string_lossy().contains(":/"))
    }
    fn about(&self) -> super::format::About {
        super::format::About {
            spelling: "a folder of PNG frames",
            tensor: "`1 × C × T × H × W`",
            channels: "grey 1, RGB 3; frames sorted by name",
            metadata: "bit depth (8 or 16)",
            scaling: "pixel values / max → [0, 1]; `--max-side` shrinks every frame",
        }
    }
    fn read(
        &self,
        path: &Path,
        o: &super::format::LoadOptions,
    ) -> Result<(crate::rank::AnyTensor, super::format::Source)> {
        let (mut t, meta) = read_frames(path)?;
        let mut source = super::format::Source::plain(self.name(), Some(super::Kind::Video), 4);
        source.meta.frames = Some(meta);
        // Each frame is shrunk in space; time is left alone.
        let shrunk = match o.max_side {
            Some(m) => crate::tensor::shrink::shrink_noted(&t, [false, true, true], m as usize)?,
            None => None,
        };
        if let Some((small, note)) = shrunk {
            let frames = t.spatial()[0];
            source.notes.push(format!("{}: frames {note} (all {frames})", path.display()));
            source.resized_from = Some(t.spatial().to_vec());
            t = small;
        }
        Ok((crate::rank::AnyTensor::R3(t), source))
    }
    fn write(&self, path: &Path, t: &crate::rank::AnyTensor, like: &super::format::Source) -> Result<()> {
        write_frames(path, &super::format::as_rank::<3>(path, t)?, like.meta.frames.unwrap_or_default())
    }
}
