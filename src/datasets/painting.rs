//! A painting-like texture: many short, oriented brush strokes of a small palette, with
//! bristle streaks along each stroke, laid one over another. Deterministic from a seed.

use crate::rng::Rng;
use crate::tensor::Tensor;

/// A starry-night-like palette: deep and light blues, ochre, yellow, a little green and white.
const PALETTE: [[f32; 3]; 7] = [
    [0.08, 0.15, 0.42],
    [0.18, 0.36, 0.70],
    [0.45, 0.62, 0.85],
    [0.93, 0.80, 0.25],
    [0.80, 0.52, 0.15],
    [0.25, 0.45, 0.30],
    [0.92, 0.92, 0.85],
];

/// Brush strokes on an `h × w` RGB canvas in `[0, 1]` (a `1 × 3 × h × w` tensor).
///
/// Stroke directions follow a smooth swirling flow field (so neighbouring strokes align, as in
/// an impasto painting), with a little random jitter; each stroke has a palette colour with a
/// small random tint, soft ends and edges, and streaks across its width like the hairs of a brush.
/// Stroke length and width scale with the canvas, so sizes other than 128 look alike.
pub fn brush_strokes(h: usize, w: usize, seed: u64) -> Tensor<2> {
    let mut rng = Rng::new(seed);
    let scale = (h.min(w) as f32 / 128.0).max(0.25);
    let mut canvas = vec![[0.12f32, 0.18, 0.35]; h * w];

    // Enough strokes to cover the canvas a few times over.
    let mean_area = 14.0 * 4.0 * scale * scale;
    let count = ((h * w) as f32 * 3.0 / mean_area).ceil() as usize;
    for _ in 0..count {
        let cy = rng.uniform_in(0.0, h as f32);
        let cx = rng.uniform_in(0.0, w as f32);
        // Swirling flow field in unit coordinates, plus jitter.
        let (uy, ux) = (cy / h as f32, cx / w as f32);
        let flow = 2.2 * (3.0 * ux + 1.3).sin() + 1.7 * (4.0 * uy).cos() + 0.8 * ((ux + uy) * 9.0).sin();
        let angle = flow + rng.uniform_in(-0.25, 0.25);
        let (dy, dx) = (angle.sin(), angle.cos());
        let half_len = rng.uniform_in(5.0, 11.0) * scale;
        let half_wid = rng.uniform_in(1.5, 3.0) * scale;
        let base = PALETTE[rng.below(PALETTE.len())];
        let tint = [rng.uniform_in(-0.06, 0.06), rng.uniform_in(-0.06, 0.06), rng.uniform_in(-0.06, 0.06)];
        let bristle_freq = rng.uniform_in(2.0, 3.5) / scale;
        let bristle_phase = rng.uniform_in(0.0, std::f32::consts::TAU);
        let opacity = rng.uniform_in(0.75, 1.0);

        let reach = half_len + half_wid + 1.0;
        let (y0, y1) = ((cy - reach).floor().max(0.0) as usize, ((cy + reach).ceil() as usize).min(h));
        let (x0, x1) = ((cx - reach).floor().max(0.0) as usize, ((cx + reach).ceil() as usize).min(w));
        for i in y0..y1 {
            for j in x0..x1 {
                let (py, px) = (i as f32 + 0.5 - cy, j as f32 + 0.5 - cx);
                let along = py * dy + px * dx;
                let across = -py * dx + px * dy;
                // Soft-edged capsule: 1 inside, falling to 0 over one pixel at the border.
                let over_len = (along.abs() - half_len).max(0.0);
                let dist = (over_len * over_len + across * across).sqrt();
                let a = (half_wid + 0.5 - dist).clamp(0.0, 1.0) * opacity;
                if a <= 0.0 {
                    continue;
                }
                // Bristle streaks: brightness varies across the stroke, constant along it.
                let streak = 0.85 + 0.15 * (across * bristle_freq + bristle_phase).sin();
                // Paint thins towards the end of the stroke.
                let fade = 1.0 - 0.3 * (along / half_len).clamp(-1.0, 1.0).max(0.0);
                let px_ref = &mut canvas[i * w + j];
                for c in 0..3 {
                    let colour = ((base[c] + tint[c]) * streak).clamp(0.0, 1.0);
                    let k = a * fade;
                    px_ref[c] = px_ref[c] * (1.0 - k) + colour * k;
                }
            }
        }
    }

    let mut t = Tensor::zeros(1, 3, [h, w]);
    for i in 0..h {
        for j in 0..w {
            for (c, v) in canvas[i * w + j].iter().enumerate() {
                *t.at_mut(0, c, [i, j]) = v.clamp(0.0, 1.0);
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::brush_strokes;

    #[test]
    fn deterministic_in_range_and_textured() {
        let a = brush_strokes(48, 64, 3);
        let b = brush_strokes(48, 64, 3);
        assert_eq!(a.dims(), b.dims());
        let (va, vb) = (a.data(), b.data());
        assert_eq!(va, vb);
        assert!(va.iter().all(|v| (0.0..=1.0).contains(v)));
        let mean = va.iter().sum::<f32>() / va.len() as f32;
        let var = va.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / va.len() as f32;
        assert!(var > 0.01, "a painting should not be flat (variance {var})");
        assert_ne!(brush_strokes(48, 64, 4).data(), va);
    }
}
