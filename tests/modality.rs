//! Modality readers and writers: round trips, bad files, Griffin–Lim, ECG and phantom generators.

use std::path::{Path, PathBuf};

use ndstyle::data;
use ndstyle::modality::audio::{self, GriffinLim, SampleFormat, StftConfig};
use ndstyle::modality::signal::{self, EcgParams, SignalMeta};
use ndstyle::modality::video::{self, FrameMeta};
use ndstyle::modality::volume::{self, H5Path, IntensityWindow, Phantom, VolumeMeta};
use ndstyle::modality::Kind;
use ndstyle::Tensor;

/// A fresh, empty folder under the system temp dir, unique to this test and process.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ndstyle-modality-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[track_caller]
fn assert_names_file<T: std::fmt::Debug>(r: ndstyle::Result<T>, file: &Path) -> String {
    let msg = r.expect_err("expected an error").to_string();
    let name = file.file_name().unwrap().to_string_lossy();
    assert!(msg.contains(name.as_ref()), "error '{msg}' does not name {name}");
    assert!(!msg.contains('\n'), "error is not one line: {msg}");
    msg
}

fn files_in(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn modality_kind_detection() {
    let d = scratch("kind");
    let kind = |p: &Path| data::kind_of(p).unwrap();
    assert_eq!(kind(Path::new("a/b.csv")), Some(Kind::Signal));
    assert_eq!(kind(Path::new("x.WAV")), Some(Kind::Audio));
    assert_eq!(kind(Path::new("x.jpeg")), Some(Kind::Image));
    assert_eq!(kind(Path::new("ct.nii.gz")), Some(Kind::Volume));
    assert_eq!(kind(Path::new("ct.nii")), Some(Kind::Volume));
    assert_eq!(kind(Path::new("v.h5:/group/data")), Some(Kind::Volume));
    assert_eq!(kind(&d), Some(Kind::Video));
    assert_eq!(kind(Path::new("x.npy")), None);
    assert!(data::kind_of(Path::new("x.txt")).err().unwrap().to_string().contains("x.txt"));
    assert_eq!(Kind::Video.rank(), 3);
    let h = H5Path::parse("dir/v.h5:/group/data").unwrap();
    assert_eq!((h.file, h.dataset.as_str()), (PathBuf::from("dir/v.h5"), "group/data"));
}

#[test]
fn modality_csv_round_trip() {
    let d = scratch("csv");
    let (x, meta) = signal::synth_ecg_leads(&EcgParams::new(75.0, 2.0, 250.0), 3).unwrap();
    assert_eq!(x.dims(), vec![1, 3, 500]);
    let p = d.join("ecg.csv");
    signal::write_csv(&p, &x, &meta).unwrap();
    let (y, meta2) = signal::read_csv(&p, None).unwrap();
    assert_eq!(y, x);
    assert_eq!(meta2, meta);
    assert_eq!(meta2.leads, vec!["II", "I", "III"]);
    assert_eq!(files_in(&d), vec!["ecg.csv"]);
    // Rate given by the caller when the file has none.
    let q = d.join("nofs.csv");
    std::fs::write(&q, "a,b\n1,2\n3.5,-4\n").unwrap();
    let (z, m) = signal::read_csv(&q, Some(360.0)).unwrap();
    assert_eq!(z.data(), &[1.0, 3.5, 2.0, -4.0]);
    assert_eq!(m, SignalMeta { fs: 360.0, leads: vec!["a".into(), "b".into()] });
}

#[test]
fn modality_csv_bad_files() {
    let d = scratch("csvbad");
    let cases: [(&str, &str, &str); 8] = [
        ("nofs.csv", "a,b\n1,2\n", "sampling rate"),
        ("empty.csv", "", "empty"),
        ("ragged.csv", "# fs=100\na,b\n1,2\n3\n", "line 4"),
        ("nan.csv", "# fs=100\na,b\n1,2\nNaN,1\n", "line 4"),
        ("inf.csv", "# fs=100\na,b\n1,inf\n", "line 3"),
        ("blank.csv", "# fs=100\na,b\n1,2\n\n3,4\n", "line 4"),
        ("text.csv", "# fs=100\na,b\n1,x\n", "line 3"),
        ("noheader.csv", "# fs=100\n1,2\n", "header"),
    ];
    for (name, text, want) in cases {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        let msg = assert_names_file(signal::read_csv(&p, None), &p);
        assert!(msg.contains(want), "{name}: '{msg}' lacks '{want}'");
    }
    // Writing NaN fails and leaves nothing behind.
    let before = files_in(&d);
    let t = Tensor::from_vec(1, 1, [2], vec![1.0, f32::NAN]).unwrap();
    let out = d.join("out.csv");
    assert_names_file(signal::write_csv(&out, &t, &SignalMeta { fs: 1.0, leads: vec!["a".into()] }), &out);
    assert_eq!(files_in(&d), before);
}

#[test]
fn modality_ecg_heart_rate() {
    for (hr, secs) in [(60.0, 10.0), (72.0, 10.0), (120.0, 5.0)] {
        let x = signal::synth_ecg(&EcgParams::new(hr, secs, 500.0)).unwrap();
        assert_eq!(x.len(), (secs * 500.0) as usize);
        let peaks = signal::r_peaks(&x, 500.0);
        let want = (secs * hr / 60.0).round() as usize;
        assert_eq!(peaks.len(), want, "hr {hr}: peaks {peaks:?}");
        let rr: Vec<f64> = peaks.windows(2).map(|w| (w[1] - w[0]) as f64 / 500.0).collect();
        let mean_hr = 60.0 / (rr.iter().sum::<f64>() / rr.len() as f64);
        assert!((mean_hr - hr).abs() < 0.5, "measured {mean_hr} bpm for {hr}");
        let max = x.iter().cloned().fold(f32::MIN, f32::max);
        let min = x.iter().cloned().fold(f32::MAX, f32::min);
        assert!((max - 1.2).abs() < 1e-4 && (min + 0.4).abs() < 1e-4, "range [{min}, {max}]");
    }
}

fn sines(n: usize, fs: f32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let t = i as f32 / fs;
            0.3 * (std::f32::consts::TAU * 440.0 * t).sin()
                + 0.2 * (std::f32::consts::TAU * 1250.0 * t).sin()
                + 0.1 * (std::f32::consts::TAU * 3100.0 * t).sin()
        })
        .collect()
}

#[test]
fn modality_wav_round_trips() {
    let d = scratch("wav");
    let x = sines(4000, 16000.0);
    let p16 = d.join("a16.wav");
    audio::write_wav(&p16, &x, 16000, SampleFormat::Int(16)).unwrap();
    let (y, m) = audio::read_wav(&p16).unwrap();
    assert_eq!(m.sample_rate, 16000);
    assert_eq!(m.format, SampleFormat::Int(16));
    assert_eq!(m.samples, 4000);
    assert!(y.iter().zip(&x).all(|(a, b)| (a - b).abs() <= 0.5 / 32768.0 + 1e-7));
    // A second round trip of 16-bit samples is bit-exact.
    let p16b = d.join("b16.wav");
    audio::write_wav(&p16b, &y, m.sample_rate, m.format).unwrap();
    assert_eq!(std::fs::read(&p16).unwrap(), std::fs::read(&p16b).unwrap());
    assert_eq!(audio::read_wav(&p16b).unwrap().0, y);
    // Float32 is exact.
    let pf = d.join("f32.wav");
    audio::write_wav(&pf, &x, 44100, SampleFormat::Float32).unwrap();
    let (z, mf) = audio::read_wav(&pf).unwrap();
    assert_eq!(z, x);
    assert_eq!((mf.sample_rate, mf.format), (44100, SampleFormat::Float32));
    // Stereo is mixed to mono.
    let ps = d.join("stereo.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&ps, spec).unwrap();
    for (l, r) in [(1000i16, 3000i16), (-2000, 0)] {
        w.write_sample(l).unwrap();
        w.write_sample(r).unwrap();
    }
    w.finalize().unwrap();
    let (mono, ms) = audio::read_wav(&ps).unwrap();
    assert_eq!(ms.channels, 2);
    assert_eq!(mono, vec![2000.0 / 32768.0, -1000.0 / 32768.0]);
}

#[test]
fn modality_wav_bad_files() {
    let d = scratch("wavbad");
    let good = d.join("good.wav");
    audio::write_wav(&good, &sines(1000, 16000.0), 16000, SampleFormat::Int(16)).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let trunc = d.join("trunc.wav");
    std::fs::write(&trunc, &bytes[..bytes.len() - 301]).unwrap();
    let msg = assert_names_file(audio::read_wav(&trunc), &trunc);
    assert!(msg.contains("truncated"), "{msg}");
    let notwav = d.join("text.wav");
    std::fs::write(&notwav, "hello, this is not a wave file at all").unwrap();
    assert_names_file(audio::read_wav(&notwav), &notwav);
    let empty = d.join("empty.wav");
    std::fs::write(&empty, "").unwrap();
    assert_names_file(audio::read_wav(&empty), &empty);
    let missing = d.join("missing.wav");
    assert_names_file(audio::read_wav(&missing), &missing);
    let out = d.join("nan.wav");
    assert_names_file(audio::write_wav(&out, &[0.0, f32::INFINITY], 16000, SampleFormat::Int(16)), &out);
    assert!(!out.exists());
}

#[test]
fn modality_stft_inverts_and_log_is_exact() {
    let x = sines(3000, 16000.0);
    let cfg = StftConfig { n_fft: 256, hop: 64 };
    let s = audio::stft(&x, cfg).unwrap();
    assert_eq!((s.bins, s.frames), (129, cfg.frames(3000)));
    let y = audio::istft(&s, cfg, x.len()).unwrap();
    let err = x.iter().zip(&y).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(err < 1e-5, "ISTFT(STFT(x)) error {err}");
    let mag = s.magnitude();
    let t = audio::log_magnitude(&mag, s.bins, s.frames).unwrap();
    assert_eq!(t.dims(), vec![1, 129, s.frames]);
    let back = audio::magnitude_from_log(&t);
    let rel = audio::spectral_convergence(&mag, &back);
    assert!(rel < 1e-6, "log inverse error {rel}");
    assert_eq!(StftConfig::default().bins(), 1025);
}

/// Measured (seed 1, 1 s of three sines at 16 kHz, n_fft 512, hop 128): see the asserts.
#[test]
fn modality_griffin_lim_converges() {
    let x = sines(16000, 16000.0);
    let cfg = StftConfig { n_fft: 512, hop: 128 };
    let s = audio::stft(&x, cfg).unwrap();
    let mag = s.magnitude();
    let sc = |gl: GriffinLim| {
        let y = audio::griffin_lim(&mag, s.frames, x.len(), cfg, gl).unwrap();
        audio::spectral_convergence(&mag, &audio::stft(&y, cfg).unwrap().magnitude())
    };
    let random = sc(GriffinLim { iterations: 0, seed: 1, momentum: 0.0 });
    let classic = sc(GriffinLim { iterations: 50, seed: 1, momentum: 0.0 });
    let fast = sc(GriffinLim { iterations: 50, seed: 1, momentum: 0.99 });
    eprintln!("spectral convergence: random phase {random:.4}, classic GL 50 it {classic:.4}, fast GL 50 it {fast:.4}");
    assert!(fast < 0.1, "fast Griffin-Lim SC {fast}");
    assert!(classic < random, "classic {classic} vs random {random}");
}

#[test]
fn modality_wav_spectrogram_round_trip() {
    let d = scratch("wavspec");
    let p = d.join("in.wav");
    audio::write_wav(&p, &sines(8000, 16000.0), 16000, SampleFormat::Int(16)).unwrap();
    let cfg = StftConfig { n_fft: 512, hop: 128 };
    let (t, meta) = audio::read_wav_spectrogram(&p, cfg).unwrap();
    assert_eq!(t.dims(), vec![1, 257, cfg.frames(8000)]);
    let out = d.join("out.wav");
    audio::write_wav_spectrogram(
        &out,
        &t,
        &meta,
        cfg,
        GriffinLim { iterations: 30, seed: 3, momentum: 0.99 },
    )
    .unwrap();
    let (t2, meta2) = audio::read_wav_spectrogram(&out, cfg).unwrap();
    let fields = |m: &audio::AudioMeta| (m.sample_rate, m.channels, m.format, m.samples);
    assert_eq!(fields(&meta2), fields(&meta));
    let sc = audio::spectral_convergence(&audio::magnitude_from_log(&t), &audio::magnitude_from_log(&t2));
    assert!(sc < 0.2, "written WAV spectral convergence {sc}");
}

/// A non-cubic volume with distinct values: value = 1000·c + 100·z + 10·y + x.
fn distinct(c: usize, d: usize, h: usize, w: usize) -> Tensor<3> {
    let mut v = Vec::new();
    for ci in 0..c {
        for z in 0..d {
            for y in 0..h {
                for x in 0..w {
                    v.push((1000 * ci + 100 * z + 10 * y + x) as f32);
                }
            }
        }
    }
    Tensor::from_vec(1, c, [d, h, w], v).unwrap()
}

#[test]
fn modality_nifti_round_trips_and_axis_order() {
    let d = scratch("nifti");
    let t = distinct(1, 3, 4, 5);
    let mut header = volume::NiftiHeader {
        pixdim: [1.0, 0.7, 0.8, 2.5, 1.0, 1.0, 1.0, 1.0],
        xyzt_units: 2,
        sform_code: 1,
        qform_code: 1,
        quatern_b: 0.0,
        quatern_c: 0.0,
        quatern_d: 1.0,
        quatern_x: -10.0,
        quatern_y: 20.5,
        quatern_z: 3.0,
        srow_x: [-0.7, 0.0, 0.0, 10.0],
        srow_y: [0.0, -0.8, 0.0, 20.5],
        srow_z: [0.0, 0.0, 2.5, -3.0],
        ..Default::default()
    };
    header.set_description_str("ndstyle test").unwrap();
    let meta = VolumeMeta { spacing: [0.7, 0.8, 2.5], nifti: Some(Box::new(header.clone())) };
    for name in ["v.nii", "v.nii.gz"] {
        let p = d.join(name);
        volume::write_nifti(&p, &t, &meta).unwrap();
        let (u, m) = volume::read_nifti(&p).unwrap();
        assert_eq!(u, t, "{name}");
        assert_eq!(m.spacing, [0.7, 0.8, 2.5]);
        let h = m.nifti.unwrap();
        assert_eq!((h.srow_x, h.srow_y, h.srow_z), (header.srow_x, header.srow_y, header.srow_z));
        assert_eq!(h.pixdim[1..4], header.pixdim[1..4]);
        assert_eq!((h.sform_code, h.qform_code, h.xyzt_units), (1, 1, 2));
        assert_eq!((h.quatern_d, h.quatern_x, h.quatern_y, h.quatern_z), (1.0, -10.0, 20.5, 3.0));
        assert_eq!(h.descrip, header.descrip);
        assert_eq!(&h.dim[..4], &[3, 5, 4, 3], "dim is (x, y, z) = (W, H, D)");
        assert_eq!(h.datatype, 16, "float32");
    }
    // The file's first bytes of data are x-fastest: (x=0,y=0,z=0), (x=1,…), … as in the spec.
    let raw = std::fs::read(d.join("v.nii")).unwrap();
    let f = |i: usize| f32::from_le_bytes(raw[352 + 4 * i..356 + 4 * i].try_into().unwrap());
    assert_eq!((f(0), f(1), f(5), f(20)), (0.0, 1.0, 10.0, 100.0));
    // 4-D: the 4th axis becomes channels.
    let t4 = distinct(2, 2, 3, 4);
    let p4 = d.join("v4.nii.gz");
    volume::write_nifti(&p4, &t4, &VolumeMeta::with_spacing([1.0, 1.0, 1.0])).unwrap();
    assert_eq!(volume::read_nifti(&p4).unwrap().0, t4);
}

#[test]
fn modality_nifti_bad_files() {
    let d = scratch("niftibad");
    let good = d.join("good.nii");
    volume::write_nifti(&good, &distinct(1, 2, 3, 4), &VolumeMeta::with_spacing([1.0; 3])).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let trunc = d.join("trunc.nii");
    std::fs::write(&trunc, &bytes[..bytes.len() - 10]).unwrap();
    assert_names_file(volume::read_nifti(&trunc), &trunc);
    let short = d.join("short.nii");
    std::fs::write(&short, &bytes[..100]).unwrap();
    assert_names_file(volume::read_nifti(&short), &short);
    let empty = d.join("empty.nii.gz");
    std::fs::write(&empty, "").unwrap();
    assert_names_file(volume::read_nifti(&empty), &empty);
    let before = files_in(&d);
    let out = d.join("nan.nii");
    let t = Tensor::from_vec(1, 1, [1, 1, 2], vec![0.0, f32::NAN]).unwrap();
    assert_names_file(volume::write_nifti(&out, &t, &VolumeMeta::with_spacing([1.0; 3])), &out);
    assert_eq!(files_in(&d), before);
}

#[test]
fn modality_hdf5_round_trip_and_errors() {
    let d = scratch("hdf5");
    let file = d.join("vol.h5");
    let at = H5Path::parse(&format!("{}:/group/ct", file.display())).unwrap();
    for t in [distinct(1, 3, 4, 5), distinct(2, 2, 3, 4)] {
        volume::write_hdf5(&at, &t).unwrap();
        assert_eq!(volume::read_hdf5(&at).unwrap().0, t);
    }
    let missing = H5Path { file: file.clone(), dataset: "group/nope".into() };
    assert_names_file(volume::read_hdf5(&missing), &file);
    let bad = d.join("bad.h5");
    std::fs::write(&bad, "not hdf5").unwrap();
    assert_names_file(volume::read_hdf5(&H5Path { file: bad.clone(), dataset: "x".into() }), &bad);
    let bytes = std::fs::read(&file).unwrap();
    let trunc = d.join("trunc.h5");
    std::fs::write(&trunc, &bytes[..bytes.len() / 2]).unwrap();
    assert_names_file(volume::read_hdf5(&H5Path { file: trunc.clone(), dataset: "group/ct".into() }), &trunc);
}

#[test]
fn modality_window_is_invertible() {
    let t = Tensor::<3>::uniform(1, 1, [2, 3, 4], -2000.0, 2000.0, 5);
    let w = IntensityWindow::CT;
    let u = w.apply(&t);
    let back = w.invert(&u);
    assert!(back.max_abs_diff(&t) < 1e-3, "{}", back.max_abs_diff(&t));
    let edges = Tensor::<1>::from_vec(1, 1, [3], vec![-1000.0, 400.0, -300.0]).unwrap();
    assert_eq!(w.apply(&edges).data(), &[0.0, 1.0, 0.5]);
    assert!(IntensityWindow::new(1.0, 1.0).is_err());
}

#[test]
fn modality_phantom_values() {
    let n = [33, 33, 33];
    let ks = volume::shepp_logan_3d(n, Phantom::SheppLogan).unwrap();
    let toft = volume::shepp_logan_3d(n, Phantom::ModifiedSheppLogan).unwrap();
    assert!((ks.at(0, 0, [16, 16, 16]) - 1.02).abs() < 1e-6);
    assert!((toft.at(0, 0, [16, 16, 16]) - 0.2).abs() < 1e-6);
    for idx in [[0, 0, 0], [32, 32, 32], [16, 0, 0], [16, 16, 0]] {
        assert_eq!(ks.at(0, 0, idx), 0.0, "outside at {idx:?}");
    }
    // The skull: inside the outer ellipsoid but outside the inner one (y = 0.875, near the top).
    assert!((ks.at(0, 0, [16, 2, 16]) - 2.0).abs() < 1e-6);
    assert!(ks.data().iter().all(|v| (0.0..=2.0 + 1e-6).contains(v)));
}

#[test]
fn modality_png_frames_round_trip() {
    let d = scratch("frames");
    let v = video::moving_disc(4, 12, 16).unwrap();
    assert_eq!(v.dims(), vec![1, 3, 4, 12, 16]);
    // Quantise to 8 bits first so the round trip is exact.
    let v = v.map(|x| (x * 255.0).round() / 255.0);
    let dir = d.join("clip");
    video::write_frames(&dir, &v, FrameMeta::default()).unwrap();
    assert_eq!(files_in(&dir), (0..4).map(video::frame_name).collect::<Vec<_>>());
    let (u, meta) = video::read_frames(&dir).unwrap();
    assert_eq!(u, v);
    assert_eq!(meta.bit_depth, 8);
    // 16-bit grey.
    let g = Tensor::<3>::from_vec(1, 1, [2, 3, 2], (0..12).map(|i| (i * 5000) as f32 / 65535.0).collect())
        .unwrap();
    let dir16 = d.join("grey16");
    video::write_frames(&dir16, &g, FrameMeta { bit_depth: 16 }).unwrap();
    let (g2, m16) = video::read_frames(&dir16).unwrap();
    assert_eq!((g2, m16.bit_depth), (g, 16));
    // npy (T, H, W, C).
    let npy = d.join("clip.npy");
    video::write_npy(&npy, &v).unwrap();
    assert_eq!(video::read_npy(&npy).unwrap(), v);
}

#[test]
fn modality_frames_bad_inputs() {
    let d = scratch("framesbad");
    let dir = d.join("clip");
    video::write_frames(&dir, &video::moving_disc(2, 8, 8).unwrap(), FrameMeta::default()).unwrap();
    let odd = Tensor::<2>::zeros(1, 3, [8, 9]);
    ndstyle::io::image::write_image(dir.join("frame_00002.png"), &odd).unwrap();
    let msg = assert_names_file(video::read_frames(&dir), &dir.join("frame_00002.png"));
    assert!(msg.contains("9×8"), "{msg}");
    std::fs::write(dir.join("frame_00002.png"), "not a png").unwrap();
    assert_names_file(video::read_frames(&dir), &dir.join("frame_00002.png"));
    let empty = d.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert_names_file(video::read_frames(&empty), &empty);
    let npy = d.join("bad.npy");
    std::fs::write(&npy, b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'}").unwrap();
    assert_names_file(video::read_npy(&npy), &npy);
    let out = d.join("out");
    let t = Tensor::<3>::from_vec(1, 1, [1, 1, 2], vec![0.0, f32::NAN]).unwrap();
    assert_names_file(video::write_frames(&out, &t, FrameMeta::default()), &out);
    assert!(!out.exists());
}
