//! audio: results written at the content's loudness, Griffin–Lim from the content's phase, and
//! the measurements behind the defaults (ignored tests, run with `-- --ignored --nocapture`).

use std::path::PathBuf;
use std::time::Instant;

use ndstyle::datasets::samples::{melody, percussive_texture};
use ndstyle::modality::audio::{self, GriffinLim, Phase, SampleFormat, StftConfig, Wav};
use ndstyle::modality::format::{Format, LoadOptions};
use ndstyle::rank::AnyTensor;
use ndstyle::tensor::Tensor;

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("ndstyle-audio-").tempdir().unwrap()
}

fn db(ratio: f32) -> f32 {
    20.0 * ratio.log10()
}

/// Sinusoids of (frequency Hz, amplitude) at `fs`, `n` samples.
fn sinusoids(parts: &[(f32, f32)], n: usize, fs: f32) -> Vec<f32> {
    (0..n)
        .map(|i| parts.iter().map(|&(f, a)| a * (std::f32::consts::TAU * f * i as f32 / fs).sin()).sum())
        .collect()
}

const CFG: StftConfig = StftConfig { n_fft: 512, hop: 128 };

/// `content.wav` of `x` at 16 kHz, 16 bit, read back through the `wav` format.
fn read_content(dir: &std::path::Path, x: &[f32]) -> (PathBuf, Tensor<1>, ndstyle::modality::format::Source) {
    let p = dir.join("content.wav");
    audio::write_wav(&p, x, 16000, SampleFormat::Int(16)).unwrap();
    let o = LoadOptions {
        stft: CFG,
        griffin_lim: GriffinLim { iterations: 30, ..GriffinLim::default() },
        ..LoadOptions::default()
    };
    let (t, source) = Wav.read(&p, &o).unwrap();
    let AnyTensor::R1(t) = t else { panic!("rank") };
    (p, t, source)
}

/// A stylised-like result 12 dB quieter than the content (log-magnitude lowered, then blended
/// with a texture) is written at the content's RMS; Griffin–Lim alone leaves it far quieter.
#[test]
fn audio_result_has_the_content_rms() {
    let d = tmp();
    let x: Vec<f32> = melody()[..8000].to_vec();
    let (_, t, source) = read_content(d.path(), &x);
    let tex = audio::stft(&percussive_texture()[..8000], CFG).unwrap().magnitude();
    let quiet: Vec<f32> = t
        .data()
        .iter()
        .zip(&tex)
        .map(|(&v, &m)| 0.5 * (v.exp_m1() * 0.25).ln_1p() + 0.5 * (m * 0.25).ln_1p())
        .collect();
    let styled = Tensor::from_vec(1, t.channels(), t.spatial(), quiet).unwrap();
    let out = d.path().join("out.wav");
    Wav.write(&out, &AnyTensor::R1(styled.clone()), &source).unwrap();
    let (y, _) = audio::read_wav(&out).unwrap();
    let content_rms = source.meta.audio.as_ref().unwrap().0.rms;
    assert!((content_rms - audio::rms(&x)).abs() < 1e-3, "{content_rms}");
    let off = db(audio::rms(&y) / content_rms);
    assert!(off.abs() < 1.0, "written result {off:+.2} dB from the content's RMS");
    // Without the loudness match the same result is much quieter: the test can fail.
    let raw = audio::griffin_lim(
        &audio::magnitude_from_log(&styled),
        t.spatial()[0],
        x.len(),
        CFG,
        GriffinLim::default(),
    )
    .unwrap();
    let raw_off = db(audio::rms(&raw) / content_rms);
    assert!(raw_off < -6.0, "unscaled Griffin-Lim {raw_off:+.2} dB");
}

/// A gain that would clip softly limits the peaks above the knee, to the closed form, and keeps
/// the loudness; one that would not changes nothing but the level.
#[test]
fn audio_loudness_is_clipping_safe() {
    let mut x: Vec<f32> = (0..1000).map(|i| if i % 2 == 0 { 0.1 } else { -0.1 }).collect();
    x[10] = 0.3;
    let gain = 0.4 / audio::rms(&x);
    let l = audio::match_rms(&mut x, 0.4);
    assert_eq!(l.limited, 1);
    assert!((l.gain_db - db(gain)).abs() < 1e-4, "{l:?}");
    let k = audio::LIMIT_KNEE;
    let want = k + (1.0 - k) * ((0.3 * gain - k) / (1.0 - k)).tanh();
    assert!((x[10] - want).abs() < 1e-6 && x[10] < 1.0, "peak {} vs {want}", x[10]);
    assert!((x[0] - 0.1 * gain).abs() < 1e-6);
    assert!(db(audio::rms(&x) / 0.4).abs() < 0.1, "rms {}", audio::rms(&x));
    let mut y = vec![0.1f32, -0.95, 0.1, -0.1];
    let target = audio::rms(&y);
    let l = audio::match_rms(&mut y, target);
    assert_eq!((l.limited, y[1]), (0, -0.95));
    let mut z = vec![0.0f32; 8];
    assert_eq!(audio::match_rms(&mut z, 0.3).gain_db, 0.0);
}

/// On a planted sum of sinusoids whose target magnitude differs from the content's (a partial
/// louder, one added), Griffin–Lim from the content's phase ends closer than from random phase.
#[test]
fn audio_content_phase_beats_random_phase() {
    let fs = 16000.0;
    let content = sinusoids(&[(440.0, 0.3), (1250.0, 0.2), (3100.0, 0.1)], 8000, fs);
    let target = sinusoids(&[(440.0, 0.3), (1250.0, 0.35), (3100.0, 0.1), (660.0, 0.15)], 8000, fs);
    let phase = Phase::of(&audio::stft(&content, CFG).unwrap());
    let mag = audio::stft(&target, CFG).unwrap().magnitude();
    let frames = CFG.frames(8000);
    let sc = |init: Option<&Phase>| {
        let gl = GriffinLim { iterations: 20, seed: 1, momentum: 0.99 };
        let y = audio::griffin_lim_from(&mag, frames, 8000, CFG, gl, init).unwrap();
        audio::spectral_convergence(&mag, &audio::stft(&y, CFG).unwrap().magnitude())
    };
    let (random, from_content) = (sc(None), sc(Some(&phase)));
    assert!(from_content < 0.5 * random, "content phase {from_content:.4}, random {random:.4}");
    // A phase of another shape is refused, naming both shapes.
    let short = Phase::of(&audio::stft(&content[..4000], CFG).unwrap());
    let e =
        audio::griffin_lim_from(&mag, frames, 8000, CFG, GriffinLim::default(), Some(&short)).unwrap_err();
    assert!(e.to_string().contains(&format!("{} × {}", 257, CFG.frames(4000))), "{e}");
}

/// The content's own spectrogram written back is the content, sample for sample (16-bit, within
/// 2 steps): its phase is a fixed point of Griffin–Lim and its RMS needs no gain.
#[test]
fn audio_content_round_trip_is_exact() {
    let d = tmp();
    let x: Vec<f32> = melody()[..8000].to_vec();
    let (p, t, source) = read_content(d.path(), &x);
    let out = d.path().join("back.wav");
    Wav.write(&out, &AnyTensor::R1(t), &source).unwrap();
    let (a, ma) = audio::read_wav(&p).unwrap();
    let (b, mb) = audio::read_wav(&out).unwrap();
    assert_eq!((ma.sample_rate, ma.format, ma.samples), (mb.sample_rate, mb.format, mb.samples));
    let worst = a.iter().zip(&b).map(|(u, v)| (u - v).abs()).fold(0.0f32, f32::max);
    assert!(worst <= 2.0 / 32768.0, "largest difference {} steps", worst * 32768.0);
}

/// Spectral convergence of the Griffin–Lim variants on the bundled samples, on a stylised-like
/// target (melody and texture log-magnitudes averaged) and, with `NDSTYLE_AUDIO_STYLED=FILE.npy`,
/// on a stylised spectrogram of the melody (`ndstyle stylize --content datasets/audio/melody.wav
/// --style datasets/audio/texture.wav -o FILE.npy --n-fft 512 --hop 128 --beta 1e3 --init content
/// --iters 30`), at 10, 30, 100 and 200 iterations.
#[test]
#[ignore]
fn audio_measure_phase_init() {
    let (m, tex) = (melody(), percussive_texture());
    let n = m.len().min(tex.len());
    let (sm, st) = (audio::stft(&m[..n], CFG).unwrap(), audio::stft(&tex[..n], CFG).unwrap());
    let (mm, mt) = (sm.magnitude(), st.magnitude());
    let blend: Vec<f32> = mm.iter().zip(&mt).map(|(a, b)| (0.5 * (a.ln_1p() + b.ln_1p())).exp_m1()).collect();
    let melody_phase = Phase::of(&sm);
    let frames = CFG.frames(n);
    let texture_phase = Phase::of(&st);
    let mut targets = vec![("melody", mm, &melody_phase), ("texture", mt, &texture_phase)];
    targets.push(("blend", blend, &melody_phase));
    if let Some(p) = std::env::var_os("NDSTYLE_AUDIO_STYLED") {
        let t: Tensor<1> = ndstyle::io::npy::read_npy_tensor(p, Default::default()).unwrap();
        targets.push(("styled", audio::magnitude_from_log(&t), &melody_phase));
    }
    for (name, mag, phase) in &targets {
        let (mag, phase) = (mag.as_slice(), *phase);
        for iterations in [10, 30, 100, 200] {
            let mut row = format!("{name:8} {iterations:3} it:");
            let variants: [(&str, f32, Option<&Phase>); 4] = [
                ("random classic", 0.0, None),
                ("random fast", 0.99, None),
                ("content classic", 0.0, Some(phase)),
                ("content fast", 0.99, Some(phase)),
            ];
            for (label, momentum, init) in variants {
                let gl = GriffinLim { iterations, seed: 0, momentum };
                let y = audio::griffin_lim_from(mag, frames, n, CFG, gl, init).unwrap();
                let sc = audio::spectral_convergence(mag, &audio::stft(&y, CFG).unwrap().magnitude());
                row += &format!("  {label} {sc:.4}");
            }
            println!("{row}");
        }
    }
}

/// Seconds for the STFT and a 100-iteration Griffin–Lim of 3 s at 44.1 kHz under the default STFT.
#[test]
#[ignore]
fn audio_measure_default_stft_times() {
    let cfg = StftConfig::default();
    let x = sinusoids(&[(262.0, 0.3), (523.0, 0.1), (1400.0, 0.05)], 3 * 44100, 44100.0);
    let t0 = Instant::now();
    let s = audio::stft(&x, cfg).unwrap();
    let stft_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let _ = audio::griffin_lim(&s.magnitude(), s.frames, x.len(), cfg, GriffinLim::default()).unwrap();
    println!(
        "{} bins × {} frames: STFT {:.4} s, Griffin–Lim 100 it {:.2} s",
        s.bins,
        s.frames,
        stft_s,
        t1.elapsed().as_secs_f64()
    );
}
