//! Style transfer end to end through the library: texture synthesis, transfer, planted frequency, resume.

use ndstyle::extractors::{random_bank, BankSpec, ExtractorSpec};
use ndstyle::losses::{style_gram, Normalization, Weights};
use ndstyle::runner::{stylize, Init, Inputs, Outcome, Settings};
use ndstyle::tensor::Tensor;
use ndstyle::Error;

fn settings(extractor: &str, content: f64, style: f64, iters: usize) -> Settings {
    Settings {
        extractor: ExtractorSpec { name: extractor.into(), ..ExtractorSpec::default() },
        weights: Weights { content, style, tv: 0.0, norm: Normalization::Lecture },
        iters,
        ..Settings::default()
    }
}

fn run<const N: usize>(s: &Settings, content: &Tensor<N>, style: &Tensor<N>) -> Outcome<N> {
    let inputs = Inputs { content: content.clone(), styles: vec![(style.clone(), 1.0)], init: None };
    stylize(s, &inputs, None, false, &mut |_| Ok(())).unwrap()
}

/// A sum of two sinusoids per channel, a texture with a clear spectrum.
fn waves<const N: usize>(channels: usize, size: [usize; N], seed: u64) -> Tensor<N> {
    let mut t = Tensor::randn(1, channels, size, 0.05, seed);
    let p: usize = size.iter().product();
    for c in 0..channels {
        for (i, v) in t.channel_mut(0, c).iter_mut().enumerate() {
            let mut idx = i;
            let mut phase = 0.0f32;
            for d in (0..N).rev() {
                phase += (idx % size[d]) as f32 * (0.9 + 0.3 * d as f32);
                idx /= size[d];
            }
            *v += 0.5 + 0.3 * (phase + c as f32).sin() + 0.1 * (2.7 * phase).cos();
        }
        let _ = p;
    }
    t
}

/// Texture synthesis (α = 0) from noise: the style loss falls at least 100-fold and the result's
/// Gram matrix matches the style's within 10% (relative Frobenius norm).
fn synthesis<const N: usize>(size: [usize; N], iters: usize) {
    let style = waves(2, size, 3);
    let content = Tensor::uniform(1, 2, size, 0.0, 1.0, 4);
    let out = run(&settings("random-bank", 0.0, 1.0, iters), &content, &style);
    let first: f64 = out.log[0].style.iter().sum();
    let last: f64 = out.log.last().unwrap().style.iter().sum();
    assert!(last * 100.0 <= first, "rank {N}: style loss {first:.3e} → {last:.3e}, less than 100-fold");
    let net = ndstyle::extractors::build::<N>(&ExtractorSpec::default(), 2).unwrap().net;
    let gram = |x: &Tensor<N>| {
        let f = net.forward(x, &["relu1"]).unwrap();
        style_gram(f.get(net.index_of("relu1").unwrap()).unwrap(), Normalization::Lecture)
    };
    let (gs, gr) = (gram(&style), gram(&out.result));
    let diff: f64 =
        gs.data().iter().zip(gr.data()).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>().sqrt();
    let norm: f64 = gs.data().iter().map(|a| (*a as f64).powi(2)).sum::<f64>().sqrt();
    assert!(diff < 0.1 * norm, "rank {N}: Gram relative error {}", diff / norm);
}

#[test]
fn texture_synthesis_in_1d() {
    synthesis::<1>([96], 60);
}

#[test]
fn texture_synthesis_in_2d() {
    synthesis::<2>([20, 20], 60);
}

#[test]
fn texture_synthesis_in_3d() {
    synthesis::<3>([10, 10, 10], 80);
}

/// Dominant period along the last axis of a 2D image's first channel (by a direct DFT of the
/// row-averaged mean-removed profile, ignoring the DC term).
fn dominant_period(t: &Tensor<2>) -> f64 {
    let [h, w] = t.spatial();
    let mut best = (0.0, 0usize);
    for k in 1..=w / 2 {
        let mut power = 0.0;
        for i in 0..h {
            let row = &t.channel(0, 0)[i * w..(i + 1) * w];
            let mean = row.iter().sum::<f32>() / w as f32;
            let (mut re, mut im) = (0.0f64, 0.0f64);
            for (j, v) in row.iter().enumerate() {
                let a = std::f64::consts::TAU * (k * j) as f64 / w as f64;
                re += (v - mean) as f64 * a.cos();
                im += (v - mean) as f64 * a.sin();
            }
            power += re * re + im * im;
        }
        if power > best.0 {
            best = (power, k);
        }
    }
    w as f64 / best.1 as f64
}

/// Planted: vertical stripes of period 4 onto a checkerboard of period 16; the result keeps the
/// content close while its dominant horizontal period becomes the style's.
#[test]
fn striped_style_onto_checkerboard_takes_the_stripe_frequency() {
    let (h, w) = (32, 32);
    let content = ndstyle::datasets::checkerboard(h, w, 1, 8);
    let mut style = Tensor::<2>::zeros(1, 1, [h, w]);
    for i in 0..h {
        for j in 0..w {
            *style.at_mut(0, 0, [i, j]) = if (j / 2) % 2 == 0 { 0.9 } else { 0.1 };
        }
    }
    assert_eq!(dominant_period(&content), 16.0);
    assert_eq!(dominant_period(&style), 4.0);
    let mut s = settings("random-bank", 1.0, 1e3, 80);
    s.init = Init::Content;
    let out = run(&s, &content, &style);
    let first = &out.log[0];
    let last = out.log.last().unwrap();
    let (s0, s1): (f64, f64) = (first.style.iter().sum(), last.style.iter().sum());
    assert!(s1 < 0.1 * s0, "style loss {s0:.3e} → {s1:.3e}");
    assert!(last.content < 0.05, "content loss {:.3e} exceeds the bound", last.content);
    assert_eq!(dominant_period(&out.result), 4.0, "the result's dominant period");
}

#[test]
fn same_seed_same_result_other_seed_other_result() {
    let content = waves(1, [24], 1);
    let style = waves(1, [24], 2);
    let s = settings("random-bank", 1.0, 1e3, 5);
    let (a, b) = (run(&s, &content, &style), run(&s, &content, &style));
    assert_eq!(a.result, b.result);
    let mut s2 = s.clone();
    s2.extractor.seed = 9;
    assert_ne!(run(&s2, &content, &style).result, a.result);
}

/// Interrupt a two-level run mid-level, resume from the checkpoint, and match the uninterrupted result bit for bit.
#[test]
fn resume_after_interruption_matches_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let content = waves(2, [16, 12], 5);
    let style = waves(2, [16, 12], 6);
    let inputs = Inputs { content, styles: vec![(style, 1.0)], init: None };
    let mut s = settings("random-bank", 1.0, 1e3, 6);
    s.levels = 2;
    s.checkpoint_every = 2;
    let straight = stylize(&s, &inputs, None, false, &mut |_| Ok(())).unwrap();
    for stop_at in [(0, 3), (1, 5)] {
        let ckpt = dir.path().join(format!("run{}{}.ckpt", stop_at.0, stop_at.1));
        let err = stylize(&s, &inputs, Some(&ckpt), false, &mut |p| {
            if (p.level, p.iteration) == stop_at {
                return Err(Error::invalid("test", "interrupted"));
            }
            Ok(())
        })
        .unwrap_err();
        assert!(err.to_string().contains("interrupted"));
        let resumed = stylize(&s, &inputs, Some(&ckpt), true, &mut |_| Ok(())).unwrap();
        assert_eq!(resumed.result, straight.result, "resumed after {stop_at:?}");
        let totals = |o: &Outcome<2>| o.log.iter().map(|r| (r.iteration, r.total)).collect::<Vec<_>>();
        assert_eq!(totals(&resumed), totals(&straight));
    }
    // A checkpoint from other settings is refused, naming the file.
    let ckpt = dir.path().join("run15.ckpt");
    let mut other = s.clone();
    other.weights.style = 1e4;
    let err = stylize(&other, &inputs, Some(&ckpt), true, &mut |_| Ok(())).unwrap_err().to_string();
    assert!(err.contains("run15.ckpt") && err.contains("other settings"), "{err}");
}

#[test]
fn mismatched_channels_and_bad_settings_are_errors() {
    let content = Tensor::<1>::zeros(1, 2, [16]);
    let style = Tensor::<1>::zeros(1, 3, [16]);
    let inputs = Inputs { content, styles: vec![(style, 1.0)], init: None };
    let err = stylize(&Settings::default(), &inputs, None, false, &mut |_| Ok(())).unwrap_err().to_string();
    assert!(err.contains("3 channels") && err.contains("has 2"), "{err}");
    let mut s = Settings::default();
    s.weights.style = -1.0;
    assert!(s.validate().unwrap_err().to_string().contains("style weight"));
    let net = random_bank::<1>(1, &BankSpec { sizes: vec![3], maps: 2 }, 0).unwrap();
    assert!(net.index_of("relu9").unwrap_err().to_string().contains("relu1"));
}

/// A run that cannot move (style = content, starting from the content: the gradient is zero at
/// iteration 0) says why on stderr and exits non-zero, unless `--allow-no-progress`; the result is
/// written either way.
#[test]
fn a_run_without_progress_fails_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("c.png");
    let t = waves::<2>(3, [12, 12], 5);
    ndstyle::io::image::write_image(&img, &t.map(|v| v.clamp(0.0, 1.0))).unwrap();
    let args = |out: &str| {
        let mut c = crate::util::ndstyle();
        c.arg("stylize").arg("--content").arg(&img).arg("--style").arg(&img);
        c.args(["--init", "content", "--iters", "3", "--alpha", "0", "-q", "-o"]).arg(dir.path().join(out));
        c
    };
    let o = args("a.png").output().unwrap();
    crate::util::assert_one_line_error(&o, &["no progress", "the gradient is zero", "--allow-no-progress"]);
    assert!(dir.path().join("a.png").exists(), "the result is still written");
    let o = args("b.png").arg("--allow-no-progress").output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("allowed by --allow-no-progress"));
}
