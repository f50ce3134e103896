//! Synthetic 2D images: a landscape to stylise, and textures (stripes, waves) to take a style from.

use crate::rng::Rng;
use crate::tensor::Tensor;

/// A `1 × 3 × h × w` RGB image in `[0, 1]` from a colour function of `(y, x)` in unit coordinates.
fn paint(h: usize, w: usize, f: impl Fn(f32, f32) -> [f32; 3]) -> Tensor<2> {
    let mut t = Tensor::zeros(1, 3, [h, w]);
    for i in 0..h {
        for j in 0..w {
            let rgb = f((i as f32 + 0.5) / h as f32, (j as f32 + 0.5) / w as f32);
            for (c, v) in rgb.iter().enumerate() {
                *t.at_mut(0, c, [i, j]) = v.clamp(0.0, 1.0);
            }
        }
    }
    t
}

/// A simple landscape: sky gradient, a sun, two rolling hills and a lake.
pub fn landscape(h: usize, w: usize) -> Tensor<2> {
    paint(h, w, |y, x| {
        let hill1 = 0.55 + 0.08 * (x * 7.0).sin();
        let hill2 = 0.7 + 0.05 * (x * 11.0 + 1.0).cos();
        let sun = ((x - 0.72).powi(2) + (y - 0.22).powi(2)).sqrt() < 0.09;
        if y > 0.85 {
            [0.15, 0.3 + 0.1 * (x * 40.0).sin().abs(), 0.6]
        } else if y > hill2 {
            [0.2, 0.45, 0.15]
        } else if y > hill1 {
            [0.35, 0.6, 0.25]
        } else if sun {
            [1.0, 0.85, 0.3]
        } else {
            [0.45 + 0.3 * y, 0.65 + 0.2 * y, 0.95]
        }
    })
}

/// Diagonal colour stripes with `period` pixels between stripes of the same colour.
pub fn stripes(h: usize, w: usize, period: f32) -> Tensor<2> {
    paint(h, w, |y, x| {
        let t = ((x * w as f32 + y * h as f32) / period * std::f32::consts::TAU).sin();
        if t > 0.0 {
            [0.9, 0.3, 0.1]
        } else {
            [0.1, 0.2, 0.7]
        }
    })
}

/// Brush-like swirls: interfering waves of warm and cool colours with a little noise.
pub fn waves(h: usize, w: usize, seed: u64) -> Tensor<2> {
    let mut rng = Rng::new(seed);
    let noise: Vec<f32> = (0..h * w).map(|_| 0.06 * rng.normal()).collect();
    let mut t = paint(h, w, |y, x| {
        let a = (x * 23.0 + 3.0 * (y * 9.0).sin()).sin();
        let b = (y * 17.0 + 2.0 * (x * 7.0).cos()).sin();
        let v = 0.5 + 0.25 * (a + b);
        [0.2 + 0.7 * v, 0.15 + 0.4 * (1.0 - v), 0.35 + 0.5 * (1.0 - v) * v]
    });
    for c in 0..3 {
        t.channel_mut(0, c).iter_mut().zip(&noise).for_each(|(v, n)| *v = (*v + n).clamp(0.0, 1.0));
    }
    t
}

/// A grey checkerboard with squares of `square` pixels (values 0.2 and 0.8).
pub fn checkerboard(h: usize, w: usize, channels: usize, square: usize) -> Tensor<2> {
    let mut t = Tensor::zeros(1, channels, [h, w]);
    for c in 0..channels {
        for i in 0..h {
            for j in 0..w {
                *t.at_mut(0, c, [i, j]) = if (i / square + j / square).is_multiple_of(2) { 0.2 } else { 0.8 };
            }
        }
    }
    t
}
