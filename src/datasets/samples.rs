//! The project's committed samples (`datasets/`), written deterministically by its own generators:
//! `ndstyle datasets generate --out datasets` reproduces every file byte for byte.
//!
//! | file | content | made by |
//! |---|---|---|
//! | `images/{landscape,waves,stripes}.png` | 128×128 RGB | [`super::landscape`], [`super::waves`], [`super::stripes`] |
//! | `images/strokes.png` | 192×192 RGB | [`super::painting::brush_strokes`] (seed 7) |
//! | `signals/ecg_{60,90}bpm.csv` | 3 leads (II, I, III), 500 Hz, 4 s | [`synth_ecg_leads`] (ECGSYN) |
//! | `audio/melody.wav`, `audio/texture.wav` | 16 kHz mono 16-bit, 2.5 s | sums of sines; decaying noise bursts |
//! | `volumes/phantom.nii.gz`, `volumes/texture.nii.gz` | 32³ float32 in HU-like units | [`shepp_logan_3d`]; a gyroid |
//! | `video/disc/`, `video/waves/` | 8 PNG frames of 32×32 | [`moving_disc`]; a drifting crop of waves |

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use super::images::{landscape, stripes, waves};
use crate::error::Result;
use crate::io::image::write_image;
use crate::modality::audio::{write_wav, SampleFormat};
use crate::modality::signal::{synth_ecg_leads, write_csv, EcgParams};
use crate::modality::video::{moving_disc, write_frames, FrameMeta};
use crate::modality::volume::{shepp_logan_3d, write_nifti, Phantom, VolumeMeta};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Side of the sample images.
pub const IMAGE_SIDE: usize = 128;
/// Sampling rate (Hz), length (s) and leads of the ECG samples.
pub const ECG_FS: f64 = 500.0;
pub const ECG_SECONDS: f64 = 4.0;
pub const ECG_LEADS: usize = 3;
/// Sample rate (Hz) and length (s) of the audio samples.
pub const AUDIO_RATE: u32 = 16_000;
pub const AUDIO_SECONDS: f64 = 2.5;
/// Side of the sample volumes, and their voxel spacing (x, y, z) in mm.
pub const VOLUME_SIDE: usize = 32;
pub const VOLUME_SPACING: [f32; 3] = [0.9, 0.9, 1.5];
/// Frames and frame side of the sample videos.
pub const VIDEO_FRAMES: usize = 8;
pub const VIDEO_SIDE: usize = 32;

/// Write every sample under `out` (created if missing), returning the paths written, in order.
/// Frame folders are listed as folders.
pub fn generate(out: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut put = |rel: &str| -> Result<PathBuf> {
        let p = out.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| crate::Error::io(parent, e))?;
        }
        written.push(p.clone());
        Ok(p)
    };
    let s = IMAGE_SIDE;
    write_image(put("images/landscape.png")?, &landscape(s, s))?;
    write_image(put("images/waves.png")?, &waves(s, s, 1))?;
    write_image(put("images/stripes.png")?, &stripes(s, s, 16.0))?;
    write_image(put("images/strokes.png")?, &super::painting::brush_strokes(192, 192, 7))?;

    let (t, meta) = ecg(60.0, false)?;
    write_csv(&put("signals/ecg_60bpm.csv")?, &t, &meta)?;
    let (t, meta) = ecg(90.0, true)?;
    write_csv(&put("signals/ecg_90bpm.csv")?, &t, &meta)?;

    write_wav(&put("audio/melody.wav")?, &melody(), AUDIO_RATE, SampleFormat::Int(16))?;
    write_wav(&put("audio/texture.wav")?, &percussive_texture(), AUDIO_RATE, SampleFormat::Int(16))?;

    let meta = volume_meta();
    write_nifti(&put("volumes/phantom.nii.gz")?, &phantom_hu()?, &meta)?;
    write_nifti(&put("volumes/texture.nii.gz")?, &gyroid_hu(), &meta)?;

    write_frames(
        &put("video/disc")?,
        &moving_disc(VIDEO_FRAMES, VIDEO_SIDE, VIDEO_SIDE)?,
        FrameMeta::default(),
    )?;
    write_frames(&put("video/waves")?, &drifting_waves()?, FrameMeta::default())?;
    Ok(written)
}

/// A 3-lead ECG at `bpm`; `altered` widens the QRS complex and raises the T and P waves (a
/// different morphology for the style), as millivolts rounded to 0.1 µV to keep the CSV small.
pub fn ecg(bpm: f64, altered: bool) -> Result<(Tensor<1>, crate::modality::signal::SignalMeta)> {
    let mut p = EcgParams::new(bpm, ECG_SECONDS, ECG_FS);
    if altered {
        p.a = [1.6, -7.0, 26.0, -12.0, 1.0];
        p.b = [0.3, 0.14, 0.14, 0.14, 0.45];
    }
    let (t, meta) = synth_ecg_leads(&p, ECG_LEADS)?;
    Ok((t.map(|v| (v * 1e4).round() / 1e4), meta))
}

fn audio_len() -> usize {
    (AUDIO_SECONDS * AUDIO_RATE as f64).round() as usize
}

/// A melody of eight notes (C major, up and down), each a sine with two harmonics under an
/// attack–decay envelope, at 0.3 peak amplitude.
pub fn melody() -> Vec<f32> {
    let n = audio_len();
    let semitones = [0, 4, 7, 12, 7, 4, 0, 7];
    let note_len = n / semitones.len();
    let fs = AUDIO_RATE as f64;
    (0..n)
        .map(|i| {
            let k = (i / note_len).min(semitones.len() - 1);
            let f = 261.63 * 2f64.powf(semitones[k] as f64 / 12.0);
            let t = (i - k * note_len) as f64 / fs;
            let env = (t / 0.01).min(1.0) * (-3.0 * t).exp();
            let x =
                (2.0 * PI * f * t).sin() + 0.4 * (4.0 * PI * f * t).sin() + 0.15 * (6.0 * PI * f * t).sin();
            (0.3 * env * x / 1.55) as f32
        })
        .collect()
}

/// A percussive texture: a burst of low-passed noise every 125 ms with a fast exponential decay,
/// every other burst with a low 80 Hz thump, plus faint crackle.
pub fn percussive_texture() -> Vec<f32> {
    let n = audio_len();
    let fs = AUDIO_RATE as f64;
    let period = (0.125 * fs) as usize;
    let mut rng = Rng::new(7);
    let mut lp = 0.0f64;
    (0..n)
        .map(|i| {
            let k = i / period;
            let t = (i % period) as f64 / fs;
            let noise = rng.normal() as f64;
            lp = 0.7 * lp + 0.3 * noise;
            let hit = lp * (-t / 0.02).exp();
            let thump =
                if k.is_multiple_of(2) { (2.0 * PI * 80.0 * t).sin() * (-t / 0.05).exp() } else { 0.0 };
            let crackle = 0.02 * noise;
            (0.35 * (0.6 * hit + 0.5 * thump + crackle)).clamp(-0.99, 0.99) as f32
        })
        .collect()
}

/// The NIfTI header of the sample volumes: spacing [`VOLUME_SPACING`] and an sform that centres
/// the volume on the scanner origin (a non-trivial affine, kept by outputs).
pub fn volume_meta() -> VolumeMeta {
    let [sx, sy, sz] = VOLUME_SPACING;
    let half = |s: f32| -s * (VOLUME_SIDE as f32 - 1.0) / 2.0;
    let mut descrip = b"ndstyle sample".to_vec();
    descrip.resize(80, 0);
    let header = nifti::NiftiHeader {
        pixdim: [1.0, sx, sy, sz, 1.0, 1.0, 1.0, 1.0],
        xyzt_units: 2,
        sform_code: 1,
        srow_x: [sx, 0.0, 0.0, half(sx)],
        srow_y: [0.0, sy, 0.0, half(sy)],
        srow_z: [0.0, 0.0, sz, half(sz)],
        descrip,
        ..nifti::NiftiHeader::default()
    };
    VolumeMeta { spacing: VOLUME_SPACING, nifti: Some(Box::new(header)) }
}

/// The modified 3D Shepp–Logan phantom in HU-like units: `-1000 + 2000·v` (air −1000, skull
/// +1000, brain −600 … −500).
pub fn phantom_hu() -> Result<Tensor<3>> {
    let s = VOLUME_SIDE;
    Ok(shepp_logan_3d([s, s, s], Phantom::ModifiedSheppLogan)?.map(|v| -1000.0 + 2000.0 * v))
}

/// A 3D texture: a gyroid `sin x cos y + sin y cos z + sin z cos x` of period 8 voxels, as
/// walls of +800 HU in −400 HU, quantised to 100 HU steps (so it compresses).
pub fn gyroid_hu() -> Tensor<3> {
    let s = VOLUME_SIDE;
    let mut t = Tensor::zeros(1, 1, [s, s, s]);
    let w = 2.0 * PI / 8.0;
    for z in 0..s {
        for y in 0..s {
            for x in 0..s {
                let (a, b, c) = (x as f64 * w, y as f64 * w, z as f64 * w);
                let g = a.sin() * b.cos() + b.sin() * c.cos() + c.sin() * a.cos();
                let wall = (-(g * g) / 0.3).exp();
                *t.at_mut(0, 0, [z, y, x]) = ((-400.0 + 1200.0 * wall) / 100.0).round() as f32 * 100.0;
            }
        }
    }
    t
}

/// A style video: a 32×32 window drifting diagonally over the waves texture, one pixel per frame.
pub fn drifting_waves() -> Result<Tensor<3>> {
    let (n, s) = (VIDEO_FRAMES, VIDEO_SIDE);
    let big = waves(s + n, s + n, 1);
    let mut t = Tensor::zeros(1, 3, [n, s, s]);
    for f in 0..n {
        for c in 0..3 {
            for y in 0..s {
                for x in 0..s {
                    *t.at_mut(0, c, [f, y, x]) = big.at(0, c, [y + f, x + f]);
                }
            }
        }
    }
    Ok(t)
}
