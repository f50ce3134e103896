//! `--max-side` for every kind: area shrinking, band-limited signals, updated spacing, affine and rate, notes.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use ndstyle::data::{self, LoadOptions, Source};
use ndstyle::modality::edf::{self, EdfMeta};
use ndstyle::modality::signal::{self, SignalMeta};
use ndstyle::modality::volume::{self, NiftiHeader, VolumeMeta};
use ndstyle::modality::wfdb::{self, WfdbMeta};
use ndstyle::tensor::resample::{resize, resize_backward, Interp};
use ndstyle::tensor::shrink::fit;
use ndstyle::tensor::Tensor;

use crate::util::ndstyle;

fn limited(m: u32) -> LoadOptions {
    LoadOptions { max_side: Some(m), ..LoadOptions::default() }
}

fn notes(s: &Source) -> String {
    s.notes.join("\n")
}

#[test]
fn max_side_area_averages_and_is_adjoint() {
    let x = Tensor::from_vec(1, 1, [5], vec![1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
    // Each output averages 2.5 cells, the middle one counting half to each.
    let y = resize(&x, [2], Interp::Area).unwrap();
    assert!((y.data()[0] - 1.8).abs() < 1e-6 && (y.data()[1] - 4.2).abs() < 1e-6, "{:?}", y.data());
    // The mean is kept whatever the ratio; the adjoint satisfies ⟨Ax, g⟩ = ⟨x, Aᵀg⟩.
    let x = Tensor::<2>::randn(1, 2, [13, 7], 1.0, 3);
    let y = resize(&x, [4, 3], Interp::Area).unwrap();
    for c in 0..2 {
        let mean =
            |t: &Tensor<2>| t.channel(0, c).iter().map(|&v| v as f64).sum::<f64>() / t.positions() as f64;
        let (a, b) = (mean(&x), mean(&y));
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
    let g = Tensor::<2>::randn(1, 2, [4, 3], 1.0, 4);
    let back = resize_backward(&g, [13, 7], Interp::Area).unwrap();
    assert!((y.dot(&g) - x.dot(&back)).abs() < 1e-4, "{} vs {}", y.dot(&g), x.dot(&back));
    // Target sizes keep the aspect, never enlarge, and leave unmarked axes alone.
    assert_eq!(fit([300, 512, 512], [true; 3], 128), Some([75, 128, 128]));
    assert_eq!(fit([30, 1080, 1920], [false, true, true], 256), Some([30, 144, 256]));
    assert_eq!(fit([30, 10, 12], [true; 3], 100), None);
}

/// A header with a rotated sform and a rotated, flipped (qfac −1) qform.
fn header() -> NiftiHeader {
    let (c, s) = (0.8f32, 0.6f32);
    NiftiHeader {
        pixdim: [-1.0, 0.7, 0.9, 2.5, 1.0, 1.0, 1.0, 1.0],
        xyzt_units: 2,
        sform_code: 1,
        qform_code: 1,
        quatern_b: 0.0,
        quatern_c: 0.0,
        quatern_d: 0.316_227_76, // 36.87° about z: cos 0.8, sin 0.6
        quatern_x: -10.0,
        quatern_y: 20.5,
        quatern_z: 3.0,
        srow_x: [0.7 * c, -0.9 * s, 0.0, 10.0],
        srow_y: [0.7 * s, 0.9 * c, 0.0, 20.5],
        srow_z: [0.0, 0.0, 2.5, -3.0],
        ..Default::default()
    }
}

/// World points of voxel index `p` (x, y, z) through the sform and the qform.
fn world(h: &NiftiHeader, p: [f64; 3]) -> [[f64; 3]; 2] {
    let sform =
        [h.srow_x, h.srow_y, h.srow_z].map(|r| (0..3).map(|a| r[a] as f64 * p[a]).sum::<f64>() + r[3] as f64);
    let (b, c, d) = (h.quatern_b as f64, h.quatern_c as f64, h.quatern_d as f64);
    let a = (1.0 - b * b - c * c - d * d).sqrt();
    let r = [
        [a * a + b * b - c * c - d * d, 2.0 * (b * c - a * d), 2.0 * (b * d + a * c)],
        [2.0 * (b * c + a * d), a * a + c * c - b * b - d * d, 2.0 * (c * d - a * b)],
        [2.0 * (b * d - a * c), 2.0 * (c * d + a * b), a * a + d * d - c * c - b * b],
    ];
    let q = [
        h.pixdim[1] as f64 * p[0],
        h.pixdim[2] as f64 * p[1],
        h.pixdim[0] as f64 * h.pixdim[3] as f64 * p[2],
    ];
    let off = [h.quatern_x, h.quatern_y, h.quatern_z];
    let qform: [f64; 3] =
        std::array::from_fn(|i| (0..3).map(|k| r[i][k] * q[k]).sum::<f64>() + off[i] as f64);
    [sform, qform]
}

#[test]
fn max_side_shrinks_volumes_keeping_physical_space() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("ct.nii");
    // D × H × W = 9 × 14 × 21, a ramp along x plus a constant.
    let v: Vec<f32> = (0..9 * 14 * 21).map(|i| 100.0 + (i % 21) as f32).collect();
    let t = Tensor::from_vec(1, 1, [9, 14, 21], v).unwrap();
    let meta = VolumeMeta { spacing: [0.7, 0.9, 2.5], nifti: Some(Box::new(header())) };
    volume::write_nifti(&p, &t, &meta).unwrap();
    let (small, source) = data::load_with::<3>(&p, &limited(10)).unwrap();
    assert_eq!(small.spatial(), [4, 7, 10]);
    let after = source.meta.volume.as_ref().unwrap();
    for (a, (n0, n1)) in [(21, 10), (14, 7), (9, 4)].into_iter().enumerate() {
        let extent = (meta.spacing[a] * n0 as f32, after.spacing[a] * n1 as f32);
        assert!((extent.0 - extent.1).abs() < 1e-4, "axis {a}: {extent:?}");
    }
    assert!(
        notes(&source).contains("21×14×9 resized to 10×7×4, spacing 0.7×0.9×2.5→1.47×1.8×5.625 mm"),
        "{}",
        notes(&source)
    );
    assert_eq!(source.resized_from, Some(vec![9, 14, 21]));
    // Area averaging of a ramp puts each value at its voxel's centre; the mean is kept.
    let mean = small.sum() / small.len() as f64;
    assert!((mean - 110.0).abs() < 1e-3, "{mean}");
    // Written, the affine maps the outer corners of the corner voxels to the same world points.
    let out = d.path().join("out.nii");
    data::save(&out, &small, &source).unwrap();
    let (back, m) = volume::read_nifti(&out).unwrap();
    assert_eq!(back.spatial(), [4, 7, 10]);
    let h = m.nifti.unwrap();
    for (before, now) in [([-0.5; 3], [-0.5; 3]), ([20.5, 13.5, 8.5], [9.5, 6.5, 3.5])] {
        let (a, b) = (world(&header(), before), world(&h, now));
        for k in 0..2 {
            for i in 0..3 {
                assert!((a[k][i] - b[k][i]).abs() < 1e-3, "{} {k}: {a:?} vs {b:?}", ["sform", "qform"][k]);
            }
        }
    }
    // Never enlarged.
    let (same, s) = data::load_with::<3>(&p, &limited(64)).unwrap();
    assert_eq!((same, s.notes.len(), s.resized_from), (t, 0, None));
}

#[test]
fn max_side_notes_a_volume_style_on_another_voxel_grid() {
    let d = tempfile::tempdir().unwrap();
    let (content, style) = (d.path().join("c.nii"), d.path().join("s.nii"));
    volume::write_nifti(
        &content,
        &Tensor::full(1, 1, [16, 16, 16], 0.5),
        &VolumeMeta::with_spacing([1.0; 3]),
    )
    .unwrap();
    volume::write_nifti(&style, &Tensor::full(1, 1, [8, 8, 8], 0.5), &VolumeMeta::with_spacing([1.0; 3]))
        .unwrap();
    let styles = [(style.clone(), 1.0)];
    let (inputs, source) = ndstyle::runner::load_inputs::<3>(&content, &styles, None, &limited(8)).unwrap();
    assert_eq!((inputs.content.spatial(), inputs.styles[0].0.spatial()), ([8, 8, 8], [8, 8, 8]));
    assert!(notes(&source).contains("voxel spacing 1 differs from the content's 2"), "{}", notes(&source));
    let (_, source) = ndstyle::runner::load_inputs::<3>(&content, &styles, None, &limited(16)).unwrap();
    assert!(!notes(&source).contains("voxel spacing"), "{}", notes(&source));
}

#[test]
fn max_side_shrinks_every_video_frame_in_space_only() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("clip");
    // 3 frames of 24 × 40, each a constant grey.
    let v: Vec<f32> = (0..3 * 24 * 40).map(|i| [0.2, 0.6, 1.0][i / (24 * 40)]).collect();
    let t = Tensor::from_vec(1, 1, [3, 24, 40], v).unwrap();
    ndstyle::modality::video::write_frames(&dir, &t, Default::default()).unwrap();
    let (small, source) = data::load_with::<3>(&dir, &limited(10)).unwrap();
    assert_eq!(small.spatial(), [3, 6, 10]);
    assert!(notes(&source).contains("frames 40×24 resized to 10×6 (all 3)"), "{}", notes(&source));
    for (f, want) in [0.2f32, 0.6, 1.0].into_iter().enumerate() {
        let frame = &small.data()[f * 60..(f + 1) * 60];
        assert!(frame.iter().all(|&x| (x - want).abs() < 2.0 / 255.0), "frame {f}");
    }
    let out = d.path().join("out");
    data::save(&out, &small, &source).unwrap();
    assert_eq!(data::load::<3>(&out, None).unwrap().0.spatial(), [3, 6, 10]);
}

/// Two leads at `fs` Hz: a sinusoid at `low` Hz and one at `high` Hz, both of amplitude 1.
fn two_tones(n: usize, fs: f64, low: f64, high: f64) -> Tensor<1> {
    let tone = |f: f64| (0..n).map(move |i| (2.0 * PI * f * i as f64 / fs).sin() as f32);
    Tensor::from_vec(1, 2, [n], tone(low).chain(tone(high)).collect()).unwrap()
}

/// The amplitude of `x` at `f` Hz (least squares on sin and cos) over its middle 80%.
fn amplitude(x: &[f32], fs: f64, f: f64) -> (f64, f64) {
    let (a, b) = (x.len() / 10, x.len() * 9 / 10);
    let (mut s, mut c) = (0.0, 0.0);
    for (i, &v) in x.iter().enumerate().take(b).skip(a) {
        let w = 2.0 * PI * f * i as f64 / fs;
        s += v as f64 * w.sin();
        c += v as f64 * w.cos();
    }
    let k = 2.0 / (b - a) as f64;
    ((s * k).hypot(c * k), c.atan2(s))
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

#[test]
fn max_side_resamples_signals_below_the_new_nyquist() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("ecg.csv");
    let meta = SignalMeta { fs: 1000.0, leads: vec!["low".into(), "high".into()] };
    signal::write_csv(&p, &two_tones(4000, 1000.0, 20.0, 200.0), &meta).unwrap();
    // 4000 samples at 1000 Hz to 1000 at 250 Hz: Nyquist 125 Hz keeps 20 Hz and removes 200 Hz.
    let (t, source) = data::load_with::<1>(&p, &limited(1000)).unwrap();
    assert_eq!(t.spatial(), [1000]);
    assert_eq!(source.meta.signal.as_ref().unwrap().fs, 250.0);
    assert!(
        notes(&source).contains("4000 samples at 1000 Hz resampled to 1000 at 250 Hz"),
        "{}",
        notes(&source)
    );
    let (a, phase) = amplitude(t.channel(0, 0), 250.0, 20.0);
    assert!((a - 1.0).abs() < 0.01 && phase.abs() < 0.01, "amplitude {a}, phase {phase}");
    let ideal = |j: usize| (2.0 * PI * 20.0 * j as f64 / 250.0).sin();
    let worst = (50..950).map(|j| (t.channel(0, 0)[j] as f64 - ideal(j)).abs()).fold(0.0, f64::max);
    assert!(worst < 0.01, "off the 20 Hz sinusoid by {worst}");
    // Away from the ends (where the cut sinusoid is not band-limited) nothing of 200 Hz is left.
    let left = rms(&t.channel(0, 1)[50..950]);
    assert!(left < 0.002, "200 Hz left: rms {left}");
    // The CSV written from it states the new rate.
    let out = d.path().join("out.csv");
    data::save(&out, &t, &source).unwrap();
    assert!(std::fs::read_to_string(&out).unwrap().starts_with("# fs=250\n"));
    // Never enlarged.
    let (same, s) = data::load_with::<1>(&p, &limited(5000)).unwrap();
    assert_eq!((same.spatial(), s.notes.len()), ([4000], 0));
}

#[test]
fn max_side_updates_edf_and_wfdb_headers() {
    let d = tempfile::tempdir().unwrap();
    let t = two_tones(4000, 1000.0, 20.0, 200.0);
    let labels = vec!["low".to_string(), "high".to_string()];
    let p = d.path().join("rec.edf");
    edf::write_edf(&p, &t, &EdfMeta::for_signal(1000.0, &labels, "mV", &t).unwrap()).unwrap();
    // Four 1 s records of 1000 samples become four of 252 (1010 / 4, rounded down): 252 Hz.
    let (small, source) = data::load_with::<1>(&p, &limited(1010)).unwrap();
    assert_eq!((small.spatial(), source.meta.signal.as_ref().unwrap().fs), ([1008], 252.0));
    let out = d.path().join("out.edf");
    data::save(&out, &small, &source).unwrap();
    let (back, m) = edf::read_edf(&out).unwrap();
    assert_eq!((back.spatial(), m.records, m.fs()), ([1008], 4, 252.0));
    let (a, _) = amplitude(back.channel(0, 0), 252.0, 20.0);
    assert!((a - 1.0).abs() < 0.01, "{a}");
    // Fewer samples than records: a fresh header, said.
    let (tiny, source) = data::load_with::<1>(&p, &limited(3)).unwrap();
    assert_eq!(tiny.spatial(), [3]);
    assert!(notes(&source).contains("new header"), "{}", notes(&source));
    let p = d.path().join("rec.hea");
    wfdb::write_wfdb(&p, &t, &WfdbMeta::for_signal(1000.0, &labels, "mV", &t).unwrap()).unwrap();
    let (small, source) = data::load_with::<1>(&p, &limited(500)).unwrap();
    assert_eq!((small.spatial(), source.meta.signal.as_ref().unwrap().fs), ([500], 125.0));
    let out = d.path().join("out.hea");
    data::save(&out, &small, &source).unwrap();
    let (back, m) = wfdb::read_wfdb(&out).unwrap();
    assert_eq!((back.spatial(), m.fs), ([500], 125.0));
}

#[test]
fn max_side_resamples_a_signal_style_to_the_content_rate() {
    let d = tempfile::tempdir().unwrap();
    let csv = |name: &str, n: usize, fs: f64| -> PathBuf {
        let p = d.path().join(name);
        let t = two_tones(n, fs, 20.0, 30.0);
        signal::write_csv(&p, &t, &SignalMeta { fs, leads: vec!["a".into(), "b".into()] }).unwrap();
        p
    };
    let (content, style) = (csv("c.csv", 4000, 1000.0), csv("s.csv", 2000, 1000.0));
    let styles = [(style, 1.0)];
    let (inputs, source) =
        ndstyle::runner::load_inputs::<1>(&content, &styles, None, &limited(1000)).unwrap();
    assert_eq!((inputs.content.spatial(), inputs.styles[0].0.spatial()), ([1000], [500]));
    assert!(
        notes(&source).contains("2000 samples at 1000 Hz resampled to 500 at 250 Hz"),
        "{}",
        notes(&source)
    );
    let (a, _) = amplitude(inputs.styles[0].0.channel(0, 0), 250.0, 20.0);
    assert!((a - 1.0).abs() < 0.01, "{a}");
    // A style at another rate than the content's own is still refused.
    let other = [(csv("o.csv", 2000, 500.0), 1.0)];
    let e =
        ndstyle::runner::load_inputs::<1>(&content, &other, None, &limited(1000)).unwrap_err().to_string();
    assert!(e.contains("o.csv") && e.contains("500 Hz"), "{e}");
}

#[test]
fn max_side_limits_npy_arrays_by_rank_and_refuses_audio() {
    let d = tempfile::tempdir().unwrap();
    let npy = |name: &str, shape: &[usize]| -> PathBuf {
        let p = d.path().join(name);
        let n = shape.iter().product::<usize>();
        ndstyle::io::npy::write_npy(&p, shape, &vec![0.25; n]).unwrap();
        p
    };
    let (s, src) = data::load_with::<1>(&npy("s.npy", &[4000]), &limited(1000)).unwrap();
    assert_eq!(s.spatial(), [1000]);
    assert!(s.data().iter().all(|v| (v - 0.25).abs() < 1e-5));
    assert!(notes(&src).contains("4000 samples resampled to 1000"), "{}", notes(&src));
    let (i, src) = data::load_with::<2>(&npy("i.npy", &[64, 40]), &limited(16)).unwrap();
    assert_eq!(i.spatial(), [16, 10]);
    assert!(notes(&src).contains("40×64 resized to 10×16"), "{}", notes(&src));
    let (v, _) = data::load_with::<3>(&npy("v.npy", &[12, 24, 6]), &limited(8)).unwrap();
    assert_eq!(v.spatial(), [4, 8, 2]);
    let wav = d.path().join("a.wav");
    let tone: Vec<f32> = (0..8000).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
    ndstyle::modality::audio::write_wav(&wav, &tone, 8000, ndstyle::modality::audio::SampleFormat::Int(16))
        .unwrap();
    let e = data::load_with::<1>(&wav, &limited(64)).unwrap_err().to_string();
    assert!(e.contains("a.wav") && e.contains("--max-side") && e.contains("audio"), "{e}");
}

fn write_volume(path: &Path, size: [usize; 3], seed: u64) {
    let t = Tensor::uniform(1, 1, size, 0.0, 1.0, seed);
    volume::write_nifti(path, &t, &VolumeMeta::with_spacing([1.0; 3])).unwrap();
}

#[test]
fn max_side_cli_stylizes_a_small_volume() {
    let d = tempfile::tempdir().unwrap();
    let (content, style, out) = (d.path().join("c.nii"), d.path().join("s.nii"), d.path().join("out.nii"));
    write_volume(&content, [24, 32, 20], 1);
    write_volume(&style, [20, 20, 20], 2);
    let o = ndstyle()
        .args(["stylize", "--max-side", "16", "--iters", "1", "--threads", "1", "--checkpoint-every", "0"])
        .arg("--content")
        .arg(&content)
        .arg("--style")
        .arg(&style)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("20×32×24 resized to 10×16×12, spacing 1→2"), "{err}");
    let (t, m) = volume::read_nifti(&out).unwrap();
    assert_eq!((t.spatial(), m.spacing), ([12, 16, 10], [2.0; 3]));
}
