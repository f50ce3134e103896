//! Colour preservation for RGB style transfer (Gatys, Bethge, Hertzmann & Shechtman 2016,
//! "Preserving Color in Neural Artistic Style Transfer").
//!
//! - [`PreserveColor::Luminance`]: stylise only the luminance. Content and styles go to YIQ; each
//!   style's Y is affinely matched to the content Y's mean and standard deviation; the Y channels
//!   are stylised (one channel), and the result's Y is recombined with the content's I and Q.
//! - [`PreserveColor::Histogram`]: before stylising, every style's colours are mapped by the affine
//!   transform `x ↦ A(x − μ_s) + μ_c` with `A = Σ_c^{1/2} Σ_s^{−1/2}`, so that the style's mean and
//!   covariance equal the content's; the square roots come from a symmetric 3×3 eigen-decomposition.
//!
//! Both work on any rank whose tensors have 3 channels (images, and RGB video frame stacks).
//! [`adapt_channels`] fits a style's channel count to the content's (grey, RGB, RGBA).

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// How to keep the content's colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PreserveColor {
    /// Plain style transfer: colours come from the style.
    #[default]
    None,
    /// Luminance-only transfer in YIQ.
    Luminance,
    /// Match the style's colour mean and covariance to the content's first.
    Histogram,
}

impl std::str::FromStr for PreserveColor {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(PreserveColor::None),
            "luminance" => Ok(PreserveColor::Luminance),
            "histogram" => Ok(PreserveColor::Histogram),
            _ => Err(Error::invalid(
                "preserve_color",
                format!("'{s}' (expected none, luminance or histogram)"),
            )),
        }
    }
}

impl PreserveColor {
    /// The lower-case name, as in configs.
    pub fn name(self) -> &'static str {
        match self {
            PreserveColor::None => "none",
            PreserveColor::Luminance => "luminance",
            PreserveColor::Histogram => "histogram",
        }
    }
}

/// RGB → YIQ (NTSC 1953 matrix); its first row is the ITU-R BT.601 luma.
pub const RGB_TO_YIQ: [[f64; 3]; 3] =
    [[0.299, 0.587, 0.114], [0.595_716, -0.274_453, -0.321_263], [0.211_456, -0.522_591, 0.311_135]];

fn need_rgb<const N: usize>(t: &Tensor<N>, what: &str) -> Result<()> {
    if t.channels() != 3 || t.batch() != 1 {
        return Err(Error::shape(
            "preserve_color",
            format!("{what} is {}; colour preservation needs one RGB input (3 channels)", t.shape_string()),
        ));
    }
    Ok(())
}

/// Apply the 3×3 matrix `m` (and then add `offset`) to the colour of every position.
fn transform<const N: usize>(t: &Tensor<N>, m: &[[f64; 3]; 3], offset: [f64; 3]) -> Tensor<N> {
    let mut out = t.clone();
    let n = t.positions();
    let (r, g, b) = (t.channel(0, 0), t.channel(0, 1), t.channel(0, 2));
    let data = out.data_mut();
    for i in 0..n {
        let x = [r[i] as f64, g[i] as f64, b[i] as f64];
        for c in 0..3 {
            data[c * n + i] = (m[c][0] * x[0] + m[c][1] * x[1] + m[c][2] * x[2] + offset[c]) as f32;
        }
    }
    out
}

/// `1 × 3 × …` RGB → YIQ.
pub fn rgb_to_yiq<const N: usize>(t: &Tensor<N>) -> Result<Tensor<N>> {
    need_rgb(t, "the input")?;
    Ok(transform(t, &RGB_TO_YIQ, [0.0; 3]))
}

/// `1 × 3 × …` YIQ → RGB (the exact inverse of [`rgb_to_yiq`]'s matrix).
pub fn yiq_to_rgb<const N: usize>(t: &Tensor<N>) -> Result<Tensor<N>> {
    need_rgb(t, "the input")?;
    let inv = inverse3(&RGB_TO_YIQ).expect("the YIQ matrix is invertible");
    Ok(transform(t, &inv, [0.0; 3]))
}

/// Channel `c` of `t` as a `1 × 1 × …` tensor.
pub fn channel<const N: usize>(t: &Tensor<N>, c: usize) -> Tensor<N> {
    Tensor::from_vec(1, 1, t.spatial(), t.channel(0, c).to_vec()).expect("one channel fits")
}

/// `x` affinely mapped so that its mean and standard deviation are `target`'s.
pub fn match_moments<const N: usize>(x: &Tensor<N>, target: &Tensor<N>) -> Tensor<N> {
    let (mx, sx) = mean_std(x.data());
    let (mt, st) = mean_std(target.data());
    let k = if sx > 1e-12 { st / sx } else { 1.0 };
    x.map(|v| ((v as f64 - mx) * k + mt) as f32)
}

fn mean_std(v: &[f32]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Per-channel means and the 3×3 covariance (population, 1/n) of an RGB tensor's colours.
pub fn color_stats<const N: usize>(t: &Tensor<N>) -> Result<([f64; 3], [[f64; 3]; 3])> {
    need_rgb(t, "the input")?;
    let n = t.positions().max(1) as f64;
    let ch: [&[f32]; 3] = [t.channel(0, 0), t.channel(0, 1), t.channel(0, 2)];
    let mean: [f64; 3] = std::array::from_fn(|c| ch[c].iter().map(|&v| v as f64).sum::<f64>() / n);
    let mut cov = [[0.0; 3]; 3];
    for a in 0..3 {
        for b in a..3 {
            let s: f64 =
                ch[a].iter().zip(ch[b]).map(|(&x, &y)| (x as f64 - mean[a]) * (y as f64 - mean[b])).sum();
            cov[a][b] = s / n;
            cov[b][a] = s / n;
        }
    }
    Ok((mean, cov))
}

/// `style` with its colour mean and covariance matched to `content`'s:
/// `x ↦ Σ_c^{1/2} Σ_s^{−1/2} (x − μ_s) + μ_c` (Gatys et al. 2016, §2.1, the Cholesky-free variant).
/// A regulariser of 1e-8 on Σ_s's eigenvalues keeps flat (grey) styles finite.
pub fn match_histogram<const N: usize>(style: &Tensor<N>, content: &Tensor<N>) -> Result<Tensor<N>> {
    need_rgb(style, "the style")?;
    need_rgb(content, "the content")?;
    let (ms, cs) = color_stats(style)?;
    let (mc, cc) = color_stats(content)?;
    let a = matmul3(&sym_pow(&cc, 0.5), &sym_pow(&cs, -0.5));
    let am = [0, 1, 2].map(|r| a[r][0] * ms[0] + a[r][1] * ms[1] + a[r][2] * ms[2]);
    Ok(transform(style, &a, [mc[0] - am[0], mc[1] - am[1], mc[2] - am[2]]))
}

/// `S^p` of a symmetric positive semi-definite 3×3 matrix through its eigen-decomposition
/// (eigenvalues floored at 1e-8 so that negative powers stay finite).
pub fn sym_pow(s: &[[f64; 3]; 3], p: f64) -> [[f64; 3]; 3] {
    let (vals, vecs) = sym_eigen3(s);
    let d = vals.map(|l| l.max(1e-8).powf(p));
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| vecs[i][k] * d[k] * vecs[j][k]).sum();
        }
    }
    out
}

/// Eigenvalues and eigenvectors (as the columns of the returned matrix) of a symmetric 3×3
/// matrix, by cyclic Jacobi rotations (converges quadratically; a few sweeps reach f64 precision).
pub fn sym_eigen3(s: &[[f64; 3]; 3]) -> ([f64; 3], [[f64; 3]; 3]) {
    let mut a = *s;
    let mut v = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    for _sweep in 0..50 {
        let off = a[0][1].powi(2) + a[0][2].powi(2) + a[1][2].powi(2);
        let scale = (0..3).map(|i| a[i][i] * a[i][i]).sum::<f64>();
        if off <= 1e-30 * scale.max(1e-300) {
            break;
        }
        for (p, q) in [(0, 1), (0, 2), (1, 2)] {
            if a[p][q].abs() < 1e-300 {
                continue;
            }
            let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
            let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
            let c = 1.0 / (t * t + 1.0).sqrt();
            let sn = t * c;
            // A ← Jᵀ A J with the rotation J in the (p, q) plane.
            for row in a.iter_mut() {
                let (akp, akq) = (row[p], row[q]);
                row[p] = c * akp - sn * akq;
                row[q] = sn * akp + c * akq;
            }
            let (rp, rq) = (a[p], a[q]);
            a[p] = std::array::from_fn(|k| c * rp[k] - sn * rq[k]);
            a[q] = std::array::from_fn(|k| sn * rp[k] + c * rq[k]);
            for row in v.iter_mut() {
                let (vp, vq) = (row[p], row[q]);
                row[p] = c * vp - sn * vq;
                row[q] = sn * vp + c * vq;
            }
        }
    }
    ([a[0][0], a[1][1], a[2][2]], v)
}

fn matmul3(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| a[i][k] * b[k][j]).sum()))
}

fn inverse3(m: &[[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let c = |i: usize, j: usize| {
        let (r0, r1) = ((i + 1) % 3, (i + 2) % 3);
        let (c0, c1) = ((j + 1) % 3, (j + 2) % 3);
        m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]
    };
    let det = m[0][0] * c(0, 0) + m[0][1] * c(0, 1) + m[0][2] * c(0, 2);
    if det.abs() < 1e-300 {
        return None;
    }
    Some(std::array::from_fn(|i| std::array::from_fn(|j| c(j, i) / det)))
}

/// What [`prepare`] keeps to finish a result.
#[derive(Clone, Debug)]
pub struct ColorRestore<const N: usize> {
    mode: PreserveColor,
    /// The content in YIQ (for [`PreserveColor::Luminance`]).
    content_yiq: Option<Tensor<N>>,
}

/// Apply `mode` to the inputs of a run: with `Luminance` the content, the styles and the starting
/// point become their (moment-matched) Y channel; with `Histogram` the styles' colours are matched
/// to the content's. Returns what [`ColorRestore::finish`] needs.
pub fn prepare<const N: usize>(
    mode: PreserveColor,
    content: &mut Tensor<N>,
    styles: &mut [(Tensor<N>, f64)],
    init: Option<&mut Tensor<N>>,
) -> Result<ColorRestore<N>> {
    match mode {
        PreserveColor::None => Ok(ColorRestore { mode, content_yiq: None }),
        PreserveColor::Histogram => {
            for (s, _) in styles.iter_mut() {
                *s = match_histogram(s, content)?;
            }
            Ok(ColorRestore { mode, content_yiq: None })
        }
        PreserveColor::Luminance => {
            let yiq = rgb_to_yiq(content)?;
            let cy = channel(&yiq, 0);
            for (s, _) in styles.iter_mut() {
                *s = match_moments(&channel(&rgb_to_yiq(s)?, 0), &cy);
            }
            if let Some(i) = init {
                *i = channel(&rgb_to_yiq(i)?, 0);
            }
            *content = cy;
            Ok(ColorRestore { mode, content_yiq: Some(yiq) })
        }
    }
}

impl<const N: usize> ColorRestore<N> {
    /// The result in RGB: with `Luminance`, the stylised Y with the content's I and Q; otherwise
    /// the result unchanged.
    pub fn finish(&self, result: Tensor<N>) -> Result<Tensor<N>> {
        match (&self.mode, &self.content_yiq) {
            (PreserveColor::Luminance, Some(yiq)) => {
                if result.channels() != 1 || result.spatial() != yiq.spatial() {
                    return Err(Error::shape(
                        "preserve_color",
                        format!(
                            "luminance result {} vs content {}",
                            result.shape_string(),
                            yiq.shape_string()
                        ),
                    ));
                }
                let mut out = yiq.clone();
                out.channel_mut(0, 0).copy_from_slice(result.channel(0, 0));
                yiq_to_rgb(&out)
            }
            _ => Ok(result),
        }
    }
}

/// `style` with its channels adapted to a content of `channels` channels, and a short description
/// of what was done for a log line (`None` when the counts already agree): grey (1) → RGB (3) by
/// replication, RGB (3) → grey (1) by BT.601 luminance `0.299·R + 0.587·G + 0.114·B`, RGBA (4) →
/// RGB (3) by dropping alpha. Any other pair is an error naming both counts. Works on any rank and
/// on every batch item.
pub fn adapt_channels<const N: usize>(
    style: &Tensor<N>,
    channels: usize,
) -> Result<(Tensor<N>, Option<String>)> {
    let (from, b, spatial) = (style.channels(), style.batch(), style.spatial());
    if from == channels {
        return Ok((style.clone(), None));
    }
    let pick = |src: &dyn Fn(usize) -> Vec<f32>, what: &str| -> Result<(Tensor<N>, Option<String>)> {
        let data = (0..b).flat_map(src).collect();
        Ok((Tensor::from_vec(b, channels, spatial, data)?, Some(what.to_string())))
    };
    match (from, channels) {
        (1, 3) => pick(&|i| style.item(i).repeat(3), "grey style replicated to 3 channels"),
        (3, 1) => pick(
            &|i| {
                let (r, g, bl) = (style.channel(i, 0), style.channel(i, 1), style.channel(i, 2));
                let [kr, kg, kb] = RGB_TO_YIQ[0].map(|k| k as f32);
                r.iter().zip(g).zip(bl).map(|((r, g), bl)| kr * r + kg * g + kb * bl).collect()
            },
            "RGB style reduced to grey by BT.601 luminance",
        ),
        (4, 3) => pick(&|i| style.item(i)[..3 * style.positions()].to_vec(), "RGBA style's alpha dropped"),
        _ => Err(Error::shape(
            "style channels",
            format!("the style has {from} channels and the content {channels}; only grey↔RGB and RGBA→RGB are adapted"),
        )),
    }
}
