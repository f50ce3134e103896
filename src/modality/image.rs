//! PNG and JPEG images as a format: `1 × C × H × W` in [0, 1] (grey 1 channel, RGB 3).

use std::path::Path;

use super::format::{as_rank, About, Format, LoadOptions, Source};
use super::Kind;
use crate::error::Result;
use crate::io::image::{read_image, write_image};
use crate::rank::AnyTensor;

/// A still image in a format the `image` crate reads and writes.
pub struct Image {
    name: &'static str,
    extensions: &'static [&'static str],
}

/// Lossless 8- or 16-bit PNG.
pub const PNG: Image = Image { name: "png", extensions: &["png"] };
/// JPEG (8-bit, lossy).
pub const JPEG: Image = Image { name: "jpg", extensions: &["jpg", "jpeg"] };

impl Format for Image {
    fn name(&self) -> &'static str {
        self.name
    }
    fn kind(&self) -> Option<Kind> {
        Some(Kind::Image)
    }
    fn extensions(&self) -> &'static [&'static str] {
        self.extensions
    }
    fn about(&self) -> About {
        About {
            spelling: if self.name == "png" { "`.png`" } else { "`.jpg`, `.jpeg`" },
            tensor: "`1 × C × H × W`",
            channels: "grey 1, RGB 3 (alpha dropped)",
            metadata: "none",
            scaling: "pixel values / max → [0, 1]; `--max-side` resizes",
        }
    }
    fn read(&self, path: &Path, o: &LoadOptions) -> Result<(AnyTensor, Source)> {
        let t = read_image(path, o.max_side)?;
        Ok((AnyTensor::R2(t), Source::plain(self.name, Some(Kind::Image), 3)))
    }
    fn write(&self, path: &Path, t: &AnyTensor, _like: &Source) -> Result<()> {
        write_image(path, &as_rank::<2>(path, t)?)
    }
}
