//! Writes the painting-like style sample `datasets/images/strokes.png` (128 × 128, seed 7).
//!
//!     cargo run --release --example make_strokes [-- OUT.png [SIZE [SEED]]]

use anyhow::Result;
use ndstyle::datasets::painting::brush_strokes;
use ndstyle::io::image::write_image;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let out = args.next().unwrap_or_else(|| "datasets/images/strokes.png".to_string());
    let size: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(128);
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(7);
    write_image(&out, &brush_strokes(size, size, seed))?;
    println!("wrote {out} ({size}×{size}, seed {seed})");
    Ok(())
}
