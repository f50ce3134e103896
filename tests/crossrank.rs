//! Cross-rank style (2D styles on volumes and video, 1D on images), the temporal term, and channel adaptation.

use ndstyle::extractors::{build, random_bank, BankSpec, ExtractorSpec};
use ndstyle::losses::{
    flicker, style_loss, CrossObjective, Normalization, Objective, SliceStyle, TemporalMask, Weights,
};
use ndstyle::modality::color::adapt_channels;
use ndstyle::runner::{
    stylize_cross, ContentKind, CrossInputs, CrossSettings, Init, Outcome, Settings, SliceAxes,
};
use ndstyle::tensor::Tensor;

use crate::util::{assert_close, numeric_grad};

/// Central differences of `f` at every coordinate of `x` against the analytic gradient `grad`.
#[track_caller]
fn check_grad<const N: usize>(what: &str, x: &Tensor<N>, grad: &Tensor<N>, f: impl Fn(&Tensor<N>) -> f64) {
    assert!(grad.data().iter().any(|&g| g != 0.0), "{what}: zero gradient");
    let numeric = numeric_grad(x.data(), 1e-3, |xs| {
        f(&Tensor::from_vec(x.batch(), x.channels(), x.spatial(), xs.to_vec()).unwrap())
    });
    assert_close(what, grad.data(), &numeric, 2e-2, 0.0);
}

fn layers() -> Vec<(String, f64)> {
    vec![("relu1".to_string(), 1.0)]
}

/// The slice-wise style loss in 3D (a 2D bank over the slices across all three axes) and in 2D
/// (a 1D bank over rows and columns), against central differences, under every normalisation.
#[test]
fn slice_style_gradient_matches_finite_differences() {
    let bank = BankSpec { sizes: vec![1, 3, 5], maps: 4 };
    let net2 = random_bank::<2>(2, &bank, 3).unwrap();
    let net1 = random_bank::<1>(1, &bank, 4).unwrap();
    let style2 = Tensor::<2>::uniform(1, 2, [7, 6], 0.0, 1.0, 1);
    let style1 = Tensor::<1>::uniform(1, 1, [9], 0.0, 1.0, 2);
    let x3 = Tensor::<3>::uniform(1, 2, [3, 4, 5], 0.0, 1.0, 5);
    let x2 = Tensor::<2>::uniform(1, 1, [4, 6], 0.0, 1.0, 6);
    for norm in [Normalization::Lecture, Normalization::Johnson] {
        let s = SliceStyle::new(&net2, norm, &[(&style2, 1.0)], &layers(), &[0, 1, 2]).unwrap();
        let g = s.eval(&x3, 7.0).unwrap().grad;
        check_grad(&format!("3D from 2D, {norm:?}"), &x3, &g, |t| 7.0 * s.eval(t, 1.0).unwrap().total);
        let s = SliceStyle::new(&net1, norm, &[(&style1, 1.0)], &layers(), &[0, 1]).unwrap();
        let g = s.eval(&x2, 1.0).unwrap().grad;
        check_grad(&format!("2D from 1D, {norm:?}"), &x2, &g, |t| s.eval(t, 1.0).unwrap().total);
    }
}

/// The whole objective in 3D with the default extractors (content on the 3D bank, style on the
/// 2D bank, total variation and the temporal term), against central differences.
#[test]
fn cross_objective_gradient_matches_finite_differences() {
    let spec = ExtractorSpec { seed: 11, ..ExtractorSpec::default() };
    let (e3, e2) = (build::<3>(&spec, 1).unwrap(), build::<2>(&spec, 1).unwrap());
    let content = Tensor::<3>::uniform(1, 1, [3, 4, 4], 0.0, 1.0, 1);
    let style = Tensor::<2>::uniform(1, 1, [6, 6], 0.0, 1.0, 2);
    let x = Tensor::<3>::uniform(1, 1, [3, 4, 4], 0.0, 1.0, 3);
    let w = Weights { content: 2.0, style: 50.0, tv: 0.3, norm: Normalization::Lecture };
    let relu1 = vec!["relu1".to_string()];
    let base = Objective::new(&e3.net, w.clone(), Some((&content, &relu1)), &[], &[]).unwrap();
    let style = SliceStyle::new(&e2.net, w.norm, &[(&style, 1.0)], &layers(), &[0, 2]).unwrap();
    let mask = TemporalMask::new(&content, 3.0).unwrap();
    let obj = CrossObjective::new(base, style, Some((mask, 5.0))).unwrap();
    let (b, g) = obj.eval(&x).unwrap();
    assert_eq!(obj.names(), ["relu1@0", "relu1@2", "temporal"]);
    let style_sum: f64 = b.style.iter().map(|(_, j)| j).sum::<f64>() / 2.0;
    let want = 2.0 * b.content + 50.0 * style_sum + 0.3 * b.tv + 5.0 * b.temporal.unwrap();
    assert!((b.total - want).abs() <= 1e-9 * want.abs(), "total {} vs its terms {want}", b.total);
    check_grad("cross objective", &x, &g, |t| obj.eval(t).unwrap().0.total);
}

/// With a single slice of the style's size, the slice-wise cost is the same-rank style cost.
#[test]
fn one_slice_of_the_style_size_costs_the_same_rank_style_loss() {
    let net = random_bank::<1>(1, &BankSpec { sizes: vec![3, 5], maps: 3 }, 8).unwrap();
    let style = Tensor::<1>::uniform(1, 1, [12], 0.0, 1.0, 1);
    let row = Tensor::<1>::uniform(1, 1, [12], 0.0, 1.0, 2);
    let x = row.clone().reshape::<2>(1, 1, [1, 12]).unwrap();
    let act = |t: &Tensor<1>| net.forward(t, &["relu1"]).unwrap().get(1).unwrap().clone();
    for norm in [Normalization::Lecture, Normalization::Gatys, Normalization::Johnson] {
        let target = ndstyle::losses::style_gram(&act(&style), norm);
        let (want, _) = style_loss(&act(&row), &target, norm).unwrap();
        let s = SliceStyle::new(&net, norm, &[(&style, 1.0)], &layers(), &[0]).unwrap();
        let costs = s.eval(&x, 1.0).unwrap().costs;
        assert!((costs[0].1 - want).abs() <= 1e-4 * want, "{norm:?}: {} vs {want}", costs[0].1);
    }
}

fn settings(iters: usize, content: f64, style: f64) -> Settings {
    Settings {
        weights: Weights { content, style, tv: 0.0, norm: Normalization::Lecture },
        iters,
        ..Settings::default()
    }
}

fn run_cross<const N: usize, const M: usize>(
    s: &Settings,
    cross: &CrossSettings,
    content: &Tensor<N>,
    style: &Tensor<M>,
) -> Outcome<N> {
    let inputs = CrossInputs { content: content.clone(), styles: vec![(style.clone(), 1.0)], init: None };
    stylize_cross(s, cross, &inputs, &mut |_| Ok(())).unwrap()
}

/// Vertical stripes (varying along the last axis) of period `p`, values 0.1 and 0.9.
fn stripes(h: usize, w: usize, p: usize) -> Tensor<2> {
    let mut t = Tensor::zeros(1, 1, [h, w]);
    for i in 0..h {
        for j in 0..w {
            *t.at_mut(0, 0, [i, j]) = if (j % p) < p / 2 { 0.9 } else { 0.1 };
        }
    }
    t
}

/// The power of every frequency `k = 1 ..= w/2` along the last axis of 2D slices (a DFT of every
/// line, mean removed, powers summed over lines and slices).
fn line_spectrum(s: &Tensor<2>) -> Vec<f64> {
    let [h, w] = s.spatial();
    let power = |k: usize| -> f64 {
        let mut sum = 0.0;
        for b in 0..s.batch() {
            for i in 0..h {
                let line = &s.channel(b, 0)[i * w..(i + 1) * w];
                let mean = line.iter().sum::<f32>() / w as f32;
                let (mut re, mut im) = (0.0f64, 0.0f64);
                for (j, v) in line.iter().enumerate() {
                    let a = std::f64::consts::TAU * (k * j) as f64 / w as f64;
                    re += (v - mean) as f64 * a.cos();
                    im += (v - mean) as f64 * a.sin();
                }
                sum += re * re + im * im;
            }
        }
        sum
    };
    (1..=w / 2).map(power).collect()
}

/// The period with the most power along the last axis, and the share of the power it holds.
fn dominant_period(s: &Tensor<2>) -> (f64, f64) {
    let p = line_spectrum(s);
    let (k, best) = p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap();
    (s.spatial()[1] as f64 / (k + 1) as f64, best / p.iter().sum::<f64>())
}

/// Planted: a 2D style of vertical stripes of period 4 synthesised into a noise volume across all
/// three axes: the slices of every orientation take period 4 along their last axis (`w` for the
/// slices across axes 0 and 1, `h` for those across axis 2), holding most of the power there.
#[test]
fn striped_2d_style_gives_a_solid_texture_with_the_period_in_every_orientation() {
    let style = stripes(32, 32, 4);
    assert_eq!(dominant_period(&style).0, 4.0);
    let n = 12;
    let content = Tensor::<3>::uniform(1, 1, [n, n, n], 0.0, 1.0, 7);
    let cross = CrossSettings::for_kind(ContentKind::Volume);
    let out = run_cross(&settings(25, 0.0, 1.0), &cross, &content, &style);
    assert_eq!(out.style_layers, ["relu1@0", "relu1@1", "relu1@2"]);
    assert_eq!(out.result.spatial(), [n, n, n]);
    let (first, last) =
        (out.log[0].style.iter().sum::<f64>(), out.log.last().unwrap().style.iter().sum::<f64>());
    eprintln!("style loss {first:.3e} → {last:.3e}");
    for axis in 0..3 {
        let slice = |t: &Tensor<3>| ndstyle::tensor::slice::slices::<3, 2>(t, axis).unwrap();
        let (period, share) = dominant_period(&slice(&out.result));
        let (_, noise) = dominant_period(&slice(&content));
        eprintln!("axis {axis}: period {period}, share {share:.3} (noise {noise:.3})");
        assert_eq!(period, 4.0, "slices across axis {axis}");
        assert!(
            share > 0.5 && noise < 0.3,
            "axis {axis}: power share {share:.3} at period 4 (noise {noise:.3})"
        );
    }
}

/// A video of a disc of radius 3 moving one pixel per frame on a still background.
fn moving_disc(frames: usize, side: usize) -> Tensor<3> {
    let mut t = Tensor::full(1, 1, [frames, side, side], 0.2);
    for f in 0..frames {
        let (cy, cx) = (side as f32 / 2.0, 4.0 + f as f32);
        for i in 0..side {
            for j in 0..side {
                if (i as f32 - cy).powi(2) + (j as f32 - cx).powi(2) < 9.0 {
                    *t.at_mut(0, 0, [f, i, j]) = 0.8;
                }
            }
        }
    }
    t
}

/// 8 frames of 16×16 styled frame by frame from a 2D texture, starting from the content: with
/// the temporal term at its video default the result flickers less than half as much as without
/// (and about as much as the content), at the same frame count and size, the style still matched.
#[test]
fn temporal_term_reduces_flicker() {
    let video = moving_disc(8, 16);
    let style = stripes(16, 16, 4).map(|v| v * 0.5);
    let mut s = settings(20, 0.0, 1e3);
    s.init = Init::Content;
    let mut cross = CrossSettings::for_kind(ContentKind::Video);
    let with = run_cross(&s, &cross, &video, &style);
    cross.temporal = 0.0;
    let without = run_cross(&s, &cross, &video, &style);
    for o in [&with, &without] {
        assert_eq!(o.result.spatial(), video.spatial());
        let (first, last) = (o.log[0].style[0], o.log.last().unwrap().style[0]);
        assert!(last < 0.1 * first, "style loss {first:.3e} → {last:.3e}");
    }
    assert_eq!(with.style_layers, ["relu1@0", "temporal"]);
    assert_eq!(without.style_layers, ["relu1@0"]);
    let (fw, fo, fc) = (flicker(&with.result), flicker(&without.result), flicker(&video));
    eprintln!("flicker: content {fc:.4}, without {fo:.4}, with {fw:.4}");
    assert!(fw < 0.5 * fo, "flicker with the temporal term {fw:.4} vs without {fo:.4}");
}

/// The temporal cost and its gradient against a closed form and central differences.
#[test]
fn temporal_loss_matches_its_definition_and_finite_differences() {
    let content = Tensor::<3>::uniform(1, 2, [4, 3, 2], 0.0, 1.0, 1);
    let x = Tensor::<3>::uniform(1, 2, [4, 3, 2], 0.0, 1.0, 2);
    let k = 2.0;
    let mask = TemporalMask::new(&content, k).unwrap();
    let (j, g) = mask.loss(&x).unwrap();
    let mut want = 0.0;
    for t in 1..4 {
        for i in 0..3 {
            for jj in 0..2 {
                let dc: f64 = (0..2)
                    .map(|c| (content.at(0, c, [t, i, jj]) - content.at(0, c, [t - 1, i, jj])).abs() as f64)
                    .sum::<f64>()
                    / 2.0;
                let m = (-k * dc).exp();
                for c in 0..2 {
                    want += m * ((x.at(0, c, [t, i, jj]) - x.at(0, c, [t - 1, i, jj])) as f64).powi(2);
                }
            }
        }
    }
    want /= x.len() as f64;
    assert!((j - want).abs() < 1e-6 * want, "{j} vs {want}");
    check_grad("temporal", &x, &g, |t| mask.loss(t).unwrap().0);
    // Where the content is still, the mask is 1; a still result costs nothing.
    let still = Tensor::<3>::full(1, 1, [3, 2, 2], 0.5);
    let m = TemporalMask::new(&still, 10.0).unwrap();
    assert!(m.values().data().iter().all(|&v| v == 1.0));
    assert_eq!(m.loss(&still).unwrap().0, 0.0);
    assert!(m.loss(&x).is_err(), "a result of another shape is refused");
}

#[test]
fn flicker_is_the_mean_absolute_frame_difference() {
    let t = Tensor::<3>::from_vec(1, 1, [3, 1, 2], vec![0.0, 1.0, 1.0, 1.0, 0.0, 3.0]).unwrap();
    // |1-0| + |1-1| + |0-1| + |3-1| over 4 differences.
    assert!((flicker(&t) - 1.0).abs() < 1e-12);
    assert_eq!(flicker(&Tensor::<3>::zeros(1, 1, [1, 4, 4])), 0.0);
}

#[test]
fn channels_adapt_by_closed_forms() {
    let grey = Tensor::<2>::from_vec(1, 1, [1, 2], vec![0.25, 0.5]).unwrap();
    let (rgb, what) = adapt_channels(&grey, 3).unwrap();
    assert_eq!(rgb.data(), &[0.25, 0.5, 0.25, 0.5, 0.25, 0.5]);
    assert_eq!(what.as_deref(), Some("grey style replicated to 3 channels"));
    let rgb = Tensor::<1>::from_vec(1, 3, [2], vec![1.0, 0.0, 0.0, 1.0, 0.5, 0.5]).unwrap();
    let (y, what) = adapt_channels(&rgb, 1).unwrap();
    let want = [0.299 + 0.5 * 0.114, 0.587 + 0.5 * 0.114];
    assert!(y.data().iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{:?}", y.data());
    assert!(what.unwrap().contains("BT.601"));
    let rgba = Tensor::<3>::from_vec(1, 4, [1, 1, 1], vec![0.1, 0.2, 0.3, 0.4]).unwrap();
    assert_eq!(adapt_channels(&rgba, 3).unwrap().0.data(), &[0.1, 0.2, 0.3]);
    assert_eq!(adapt_channels(&rgba, 4).unwrap(), (rgba.clone(), None));
    let err = adapt_channels(&Tensor::<2>::zeros(1, 2, [2, 2]), 3).unwrap_err().to_string();
    assert!(err.contains("2 channels") && err.contains("content 3") && !err.contains('\n'), "{err}");
}

#[test]
fn slice_axes_parse_and_resolve() {
    let parse = |s: &str| s.parse::<SliceAxes>().unwrap();
    assert_eq!(parse("auto").resolve(ContentKind::Video, 3).unwrap(), [0]);
    assert_eq!(parse("auto").resolve(ContentKind::Volume, 3).unwrap(), [0, 1, 2]);
    assert_eq!(parse("auto").resolve(ContentKind::Other, 2).unwrap(), [0, 1]);
    assert_eq!(parse("all").resolve(ContentKind::Video, 3).unwrap(), [0, 1, 2]);
    assert_eq!(parse("time").resolve(ContentKind::Volume, 3).unwrap(), [0]);
    assert_eq!(parse("2,0").resolve(ContentKind::Volume, 3).unwrap(), [0, 2]);
    assert_eq!(parse("d,h,w").resolve(ContentKind::Volume, 3).unwrap(), [0, 1, 2]);
    assert_eq!(parse("h,w").resolve(ContentKind::Other, 2).unwrap(), [0, 1]);
    assert_eq!(parse("t").resolve(ContentKind::Video, 3).unwrap(), [0]);
    let one_line = |e: ndstyle::Error, needle: &str| {
        let m = e.to_string();
        assert!(m.contains(needle) && !m.contains('\n'), "{m}");
    };
    one_line("x,y".parse::<SliceAxes>().unwrap_err(), "'x,y'");
    one_line(parse("3").resolve(ContentKind::Volume, 3).unwrap_err(), "3 is not an axis");
    one_line(parse("d").resolve(ContentKind::Other, 2).unwrap_err(), "'d' names no axis");
    one_line(parse("0,0").resolve(ContentKind::Volume, 3).unwrap_err(), "twice");
}

#[test]
fn cross_runs_refuse_bad_inputs_in_one_line() {
    let content = Tensor::<3>::uniform(1, 3, [4, 8, 8], 0.0, 1.0, 1);
    let grey = Tensor::<2>::uniform(1, 1, [8, 8], 0.0, 1.0, 2);
    let s = settings(1, 1.0, 1.0);
    let cross = CrossSettings::for_kind(ContentKind::Video);
    let inputs = CrossInputs { content: content.clone(), styles: vec![(grey.clone(), 1.0)], init: None };
    let err = stylize_cross(&s, &cross, &inputs, &mut |_| Ok(())).unwrap_err().to_string();
    assert!(err.contains("1 channels but the content has 3"), "{err}");
    let lines = CrossInputs { content, styles: vec![(Tensor::<1>::zeros(1, 3, [8]), 1.0)], init: None };
    let err = stylize_cross(&s, &cross, &lines, &mut |_| Ok(())).unwrap_err().to_string();
    assert!(err.contains("rank-1 styles on a rank-3 content"), "{err}");
    let bad = CrossSettings { temporal: -1.0, ..cross };
    let err = stylize_cross(&s, &bad, &inputs, &mut |_| Ok(())).unwrap_err().to_string();
    assert!(err.contains("temporal weight") && !err.contains('\n'), "{err}");
}
