//! Composes images side by side into one strip (each scaled to the same height, 4 px white gaps),
//! for the pictures in docs/gallery.md.
//!
//!     cargo run --release --example gallery_strip -- OUT.png HEIGHT IN1.png IN2.png ...

use anyhow::{bail, Context, Result};
use image::{imageops, Rgb, RgbImage};

const GAP: u32 = 4;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        bail!("usage: gallery_strip OUT.png HEIGHT IN1.png [IN2.png ...]");
    }
    let height: u32 = args[1].parse().context("HEIGHT must be a whole number of pixels")?;
    let mut tiles = Vec::new();
    for path in &args[2..] {
        let img = image::open(path).with_context(|| format!("reading {path}"))?.to_rgb8();
        let width = ((img.width() as f64 * height as f64 / img.height() as f64).round() as u32).max(1);
        tiles.push(imageops::resize(&img, width, height, imageops::FilterType::Lanczos3));
    }
    let total = tiles.iter().map(|t| t.width()).sum::<u32>() + GAP * (tiles.len() as u32 - 1);
    let mut strip = RgbImage::from_pixel(total, height, Rgb([255, 255, 255]));
    let mut x = 0;
    for t in &tiles {
        imageops::replace(&mut strip, t, x as i64, 0);
        x += t.width() + GAP;
    }
    strip.save(&args[0]).with_context(|| format!("writing {}", args[0]))?;
    println!("wrote {} ({total}×{height})", args[0]);
    Ok(())
}
