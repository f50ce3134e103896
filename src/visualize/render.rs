//! Rendering top-k patches as one PNG grid (a row per unit): 2D tiles, 1D line plots, 3D mid-slices.

use std::path::Path;

use crate::error::{Error, Result};
use crate::io::write_image;
use crate::tensor::Tensor;

/// How patch values map to grey levels or colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Values already in `[0, 1]` (images as read), clamped.
    Unit,
    /// Each patch stretched from its own minimum to its maximum.
    PerPatch,
}

/// Layout of the grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RenderOptions {
    /// Target side of a cell in pixels: small patches are upscaled by a whole factor towards it,
    /// larger ones shrunk to it (nearest neighbour either way).
    pub cell: usize,
    pub scale: Scale,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions { cell: 48, scale: Scale::PerPatch }
    }
}

const SEPARATOR: [f32; 3] = [1.0, 1.0, 1.0];
const PALETTE: [[f32; 3]; 6] = [
    [0.12, 0.47, 0.71],
    [1.0, 0.5, 0.05],
    [0.17, 0.63, 0.17],
    [0.84, 0.15, 0.16],
    [0.58, 0.4, 0.74],
    [0.55, 0.34, 0.29],
];

/// An RGB image being drawn, planes of `h × w` in `[0, 1]`.
struct Canvas {
    w: usize,
    h: usize,
    rgb: Vec<f32>,
}

impl Canvas {
    fn new(w: usize, h: usize, fill: [f32; 3]) -> Self {
        let mut rgb = vec![0.0; 3 * w * h];
        for (c, &f) in fill.iter().enumerate() {
            rgb[c * w * h..(c + 1) * w * h].fill(f);
        }
        Canvas { w, h, rgb }
    }
    fn set(&mut self, y: usize, x: usize, col: [f32; 3]) {
        if y < self.h && x < self.w {
            for (c, &v) in col.iter().enumerate() {
                self.rgb[c * self.w * self.h + y * self.w + x] = v;
            }
        }
    }
    fn fill(&mut self, y0: usize, x0: usize, h: usize, w: usize, col: [f32; 3]) {
        for y in y0..y0 + h {
            for x in x0..x0 + w {
                self.set(y, x, col);
            }
        }
    }
    /// Bresenham line from `(y0, x0)` to `(y1, x1)`.
    fn line(&mut self, (y0, x0): (isize, isize), (y1, x1): (isize, isize), col: [f32; 3]) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            if x >= 0 && y >= 0 {
                self.set(y as usize, x as usize, col);
            }
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }
    fn into_tensor(self) -> Result<Tensor<2>> {
        Tensor::from_vec(1, 3, [self.h, self.w], self.rgb)
    }
}

/// A 2D colour plane: `h × w` RGB triples, ready to place.
struct Plane {
    h: usize,
    w: usize,
    px: Vec<[f32; 3]>,
}

/// The value range of a patch under `scale`.
fn range(t: &[f32], scale: Scale) -> (f32, f32) {
    match scale {
        Scale::Unit => (0.0, 1.0),
        Scale::PerPatch => {
            let lo = t.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = t.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            if lo.is_finite() && hi > lo {
                (lo, hi)
            } else {
                (lo.min(0.0), lo.min(0.0) + 1.0)
            }
        }
    }
}

/// The colour at flat index `i` of each channel plane of `c` channels of `p` positions.
fn colour(data: &[f32], c: usize, p: usize, i: usize, (lo, hi): (f32, f32)) -> [f32; 3] {
    let n = |v: f32| ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
    match c {
        3 => [n(data[i]), n(data[p + i]), n(data[2 * p + i])],
        _ => {
            let g = n((0..c).map(|ch| data[ch * p + i]).sum::<f32>() / c as f32);
            [g, g, g]
        }
    }
}

/// Nearest-neighbour resize of `src` to `h × w`.
fn resize(src: &Plane, h: usize, w: usize) -> Plane {
    let mut px = Vec::with_capacity(h * w);
    for y in 0..h {
        for x in 0..w {
            px.push(src.px[(y * src.h / h) * src.w + x * src.w / w]);
        }
    }
    Plane { h, w, px }
}

/// The factor that brings a side of `side` pixels towards `cell`: a whole upscale, or a shrink.
fn zoom(side: usize, cell: usize) -> f64 {
    if side >= cell {
        cell as f64 / side as f64
    } else {
        (cell / side.max(1)).max(1) as f64
    }
}

fn scaled(n: usize, z: f64) -> usize {
    ((n as f64 * z).round() as usize).max(1)
}

/// Plane `(a, b)` of a 3D patch through its centre along the remaining axis, as an image.
fn slice3(t: &Tensor<3>, axes: (usize, usize), scale: (f32, f32)) -> Plane {
    let s = t.spatial();
    let fixed = 3 - axes.0 - axes.1;
    let mid = s[fixed] / 2;
    let (c, p) = (t.channels(), t.positions());
    let data = t.item(0);
    let mut px = Vec::with_capacity(s[axes.0] * s[axes.1]);
    for a in 0..s[axes.0] {
        for b in 0..s[axes.1] {
            let mut q = [0; 3];
            q[axes.0] = a;
            q[axes.1] = b;
            q[fixed] = mid;
            px.push(colour(data, c, p, (q[0] * s[1] + q[1]) * s[2] + q[2], scale));
        }
    }
    Plane { h: s[axes.0], w: s[axes.1], px }
}

/// Draw one patch into a cell of `ch × cw` at `(y0, x0)`.
fn draw_cell<const N: usize>(
    cv: &mut Canvas,
    t: &Tensor<N>,
    (y0, x0): (usize, usize),
    (ch, cw): (usize, usize),
    opts: &RenderOptions,
) {
    let (c, p) = (t.channels(), t.positions());
    let data = t.item(0);
    let r = range(data, opts.scale);
    let place = |cv: &mut Canvas, pl: &Plane, y: usize, x: usize| {
        for yy in 0..pl.h {
            for xx in 0..pl.w {
                cv.set(y + yy, x + xx, pl.px[yy * pl.w + xx]);
            }
        }
    };
    match N {
        1 => {
            cv.fill(y0, x0, ch, cw, [1.0; 3]);
            let len = p;
            for chn in 0..c {
                let pt = |i: usize| {
                    let x = if len > 1 { i * (cw - 1) / (len - 1) } else { cw / 2 };
                    let v = ((data[chn * p + i] - r.0) / (r.1 - r.0)).clamp(0.0, 1.0);
                    let y = ((1.0 - v) * (ch - 3) as f32).round() as usize + 1;
                    ((y0 + y) as isize, (x0 + x) as isize)
                };
                let col = PALETTE[chn % PALETTE.len()];
                if len == 1 {
                    let q = pt(0);
                    cv.line(q, q, col);
                }
                for i in 1..len {
                    cv.line(pt(i - 1), pt(i), col);
                }
            }
        }
        2 => {
            let s = t.spatial();
            let pl = Plane { h: s[0], w: s[1], px: (0..p).map(|i| colour(data, c, p, i, r)).collect() };
            place(cv, &resize(&pl, ch, cw), y0, x0);
        }
        _ => {
            let s = t.spatial();
            let t3 = Tensor::<3>::from_vec(1, c, [s[0], s[1], s[2]], data.to_vec()).expect("a 3D patch");
            let z = zoom(s.iter().copied().max().unwrap_or(1), opts.cell);
            // Axial (H × W), coronal (D × W), sagittal (D × H), side by side.
            let mut x = x0;
            for axes in [(1, 2), (0, 2), (0, 1)] {
                let pl = slice3(&t3, axes, r);
                let (h, w) = (scaled(pl.h, z), scaled(pl.w, z));
                place(cv, &resize(&pl, h, w), y0, x);
                x += w + 1;
            }
        }
    }
}

/// Height and width of a cell for patches of spatial size `s`.
fn cell_size<const N: usize>(s: [usize; N], cell: usize) -> (usize, usize) {
    match N {
        1 => (cell.max(8), (s[0] * 2).clamp(cell.max(16), 4 * cell.max(16))),
        2 => {
            let z = zoom(s[0].max(s[1]), cell);
            (scaled(s[0], z), scaled(s[1], z))
        }
        _ => {
            let z = zoom(s.iter().copied().max().unwrap_or(1), cell);
            let (d, h, w) = (scaled(s[0], z), scaled(s[1], z), scaled(s[2], z));
            (h.max(d), w + w + h + 2)
        }
    }
}

/// Render `patches` (rows: units; columns: ranks; all of one spatial size) to an RGB image `1 × 3 × H × W`.
pub fn render_grid<const N: usize>(patches: &[Vec<Tensor<N>>], opts: &RenderOptions) -> Result<Tensor<2>> {
    let first = patches
        .iter()
        .flatten()
        .next()
        .ok_or_else(|| Error::invalid("render", "there are no patches to draw"))?;
    let s = first.spatial();
    if let Some(bad) = patches.iter().flatten().find(|t| t.spatial() != s) {
        return Err(Error::shape(
            "render",
            format!("patches differ in size: {} and {}", first.shape_string(), bad.shape_string()),
        ));
    }
    let (rows, cols) = (patches.len(), patches.iter().map(|r| r.len()).max().unwrap_or(0));
    let (ch, cw) = cell_size(s, opts.cell);
    let mut cv = Canvas::new(cols * (cw + 1) + 1, rows * (ch + 1) + 1, SEPARATOR);
    for (i, row) in patches.iter().enumerate() {
        for (j, t) in row.iter().enumerate() {
            let (y0, x0) = (1 + i * (ch + 1), 1 + j * (cw + 1));
            if N == 3 {
                cv.fill(y0, x0, ch, cw, [0.0; 3]);
            }
            draw_cell(&mut cv, t, (y0, x0), (ch, cw), opts);
        }
    }
    cv.into_tensor()
}

/// [`render_grid`] written to a PNG at `path`.
pub fn write_grid<const N: usize>(
    path: &Path,
    patches: &[Vec<Tensor<N>>],
    opts: &RenderOptions,
) -> Result<()> {
    write_image(path, &render_grid(patches, opts)?)
}
