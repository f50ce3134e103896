//! Never lose a user's file, never panic, never blow up memory: hostile and careless inputs to the
//! real binary, each answered by one line (exit 1, never a panic's 101), with the peak memory of
//! each memory bomb measured and kept far below what the bomb asks for.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::{assert_one_line_error, ndstyle};
use ndstyle::io::npy::write_npy;
use ndstyle::modality::volume::{write_nifti, VolumeMeta};
use ndstyle::Tensor;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/images").join(name)
}

/// `stylize` of two small images: content, style, output, extra options.
fn stylize(dir: &Path, content: &Path, style: &Path, out: &Path, extra: &[&str]) -> Output {
    ndstyle()
        .current_dir(dir)
        .args(["stylize", "--quiet", "--threads", "1", "--max-side", "16", "--iters", "1", "--content"])
        .arg(content)
        .arg("--style")
        .arg(style)
        .arg("-o")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

/// A folder with `c.png` and `s.png` (copies of the bundled samples).
fn images() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (c, s) = (dir.path().join("c.png"), dir.path().join("s.png"));
    std::fs::copy(sample("landscape.png"), &c).unwrap();
    std::fs::copy(sample("waves.png"), &s).unwrap();
    (dir, c, s)
}

/// Exit code 1 and one line: an error, not a panic (101) nor an abort.
#[track_caller]
fn refused(o: &Output, needles: &[&str]) {
    assert_eq!(
        o.status.code(),
        Some(1),
        "exit status {:?}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    assert_one_line_error(o, needles);
}

#[test]
fn an_input_is_never_the_output_even_with_overwrite() {
    let (dir, c, s) = images();
    let before = (std::fs::read(&c).unwrap(), std::fs::read(&s).unwrap());
    let d = dir.path();
    refused(&stylize(d, &c, &s, &c, &["--overwrite"]), &["c.png", "is the input"]);
    refused(&stylize(d, &c, &s, &s, &["--overwrite"]), &["s.png", "is the input"]);
    // The same file through `./` and `..`, relative to the working directory.
    refused(&stylize(d, Path::new("c.png"), &s, Path::new("./c.png"), &["--overwrite"]), &["is the input"]);
    let sub = d.join("sub");
    std::fs::create_dir(&sub).unwrap();
    refused(&stylize(&sub, &c, &s, Path::new("../s.png"), &["--overwrite"]), &["is the input"]);
    // Through a symlink and a hard link.
    std::os::unix::fs::symlink(&c, d.join("link.png")).unwrap();
    refused(&stylize(d, &c, &s, &d.join("link.png"), &["--overwrite"]), &["link.png", "is the input"]);
    std::fs::hard_link(&s, d.join("hard.png")).unwrap();
    refused(&stylize(d, &c, &s, &d.join("hard.png"), &["--overwrite"]), &["hard.png", "is the input"]);
    // A sidecar that is an input: OUT.losses.png is the style.
    let out = d.join("x.png");
    std::fs::copy(&s, d.join("x.losses.png")).unwrap();
    let o = stylize(d, &c, &d.join("x.losses.png"), &out, &["--overwrite"]);
    refused(&o, &["x.losses.png", "is the input"]);
    assert_eq!((std::fs::read(&c).unwrap(), std::fs::read(&s).unwrap()), before);
    assert!(!out.exists());
}

#[test]
fn a_file_named_like_a_sidecar_is_not_replaced_without_overwrite() {
    let (dir, c, s) = images();
    let d = dir.path();
    let out = d.join("out.png");
    for side in ["out.losses.csv", "out.losses.png"] {
        let user = d.join(side);
        std::fs::write(&user, b"the user's own file").unwrap();
        refused(&stylize(d, &c, &s, &out, &[]), &[side, "--overwrite"]);
        assert_eq!(std::fs::read(&user).unwrap(), b"the user's own file");
        assert!(!out.exists());
        std::fs::remove_file(&user).unwrap();
    }
    // A user's OUT.ckpt: never resumed from, never replaced.
    let ckpt = d.join("out.ckpt");
    std::fs::write(&ckpt, b"the user's own file").unwrap();
    refused(&stylize(d, &c, &s, &out, &[]), &["out.ckpt", "--resume"]);
    refused(&stylize(d, &c, &s, &out, &["--resume"]), &["out.ckpt", "not a usable checkpoint"]);
    assert_eq!(std::fs::read(&ckpt).unwrap(), b"the user's own file");
    std::fs::remove_file(&ckpt).unwrap();
    // With --overwrite the sidecars are the tool's to replace.
    std::fs::write(d.join("out.losses.csv"), b"old").unwrap();
    let o = stylize(d, &c, &s, &out, &["--overwrite"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read_to_string(d.join("out.losses.csv")).unwrap().starts_with("iteration,"));
}

#[test]
fn a_missing_output_directory_fails_before_any_work_with_one_os_error() {
    let (dir, c, s) = images();
    let d = dir.path();
    let out = d.join("missing/out.png");
    // The content does not exist either: the output is checked first, before anything is read.
    let o = stylize(d, &d.join("nope.png"), &s, &out, &[]);
    refused(&o, &["missing/out.png", "does not exist"]);
    assert!(!d.join("missing").exists());
    // A missing input: the OS error once, not twice.
    let o = stylize(d, &d.join("nope.png"), &s, &d.join("o.png"), &[]);
    refused(&o, &["nope.png"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    // An output folder that cannot be written (only meaningful where permissions apply).
    let ro = d.join("ro");
    std::fs::create_dir(&ro).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::write(ro.join("probe"), b"").is_err() {
        refused(&stylize(d, &c, &s, &ro.join("o.png"), &[]), &["o.png", "cannot be written"]);
    }
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn an_experiment_never_writes_over_its_inputs() {
    let (dir, c, s) = images();
    let d = dir.path();
    let yaml = d.join("exp.yaml");
    // The run directory `runs/run` holds the content: the result would be written inside an input folder.
    let runs = d.join("out");
    std::fs::create_dir_all(runs.join("run")).unwrap();
    std::fs::copy(&c, runs.join("run/result.png")).unwrap();
    let text = format!(
        "version: 1\ninputs:\n  content: {}\n  styles: [{}]\n  max_side: 16\noptimizer:\n  iterations: 1\noutputs:\n  directory: {}\n",
        runs.join("run/result.png").display(),
        s.display(),
        runs.display()
    );
    std::fs::write(&yaml, text).unwrap();
    let o = ndstyle().args(["run", "--quiet"]).arg(&yaml).output().unwrap();
    refused(&o, &["result.png", "is the input"]);
    assert_eq!(std::fs::read(runs.join("run/result.png")).unwrap(), std::fs::read(&c).unwrap());
}

/// Run `cmd` and return its output and its peak resident memory in KiB (VmHWM, which the binary
/// writes on exit to the file `NDSTYLE_PEAK_MEMORY_FILE` names).
fn output_and_peak(cmd: &mut Command) -> (Output, u64) {
    let file = tempfile::NamedTempFile::new().unwrap();
    let o = cmd.env("NDSTYLE_PEAK_MEMORY_FILE", file.path()).output().unwrap();
    let text = std::fs::read_to_string(file.path()).unwrap();
    (o, text.trim().parse().unwrap_or_else(|_| panic!("no peak memory reported: {text:?}")))
}

/// The bomb is refused with one line that names `needles`, and the process never held more than
/// 150 MiB (each bomb asks for gigabytes).
#[track_caller]
fn bomb_refused(cmd: &mut Command, needles: &[&str]) {
    let (o, peak_kib) = output_and_peak(cmd);
    println!("peak {peak_kib} KiB: {}", String::from_utf8_lossy(&o.stderr).trim());
    refused(&o, needles);
    assert!(peak_kib < 150 * 1024, "peak RSS {peak_kib} KiB for a refused bomb");
}

/// A float32 NIfTI header (348 bytes + 4 of extension flag) for `dims`, little-endian.
fn nifti_header(dims: [i16; 3], datatype: i16, bitpix: i16) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("h.nii");
    write_nifti(&p, &Tensor::zeros(1, 1, [1, 1, 1]), &VolumeMeta::with_spacing([1.0; 3])).unwrap();
    let mut h = std::fs::read(&p).unwrap()[..352].to_vec();
    for (k, d) in [3i16, dims[0], dims[1], dims[2]].iter().enumerate() {
        h[40 + 2 * k..42 + 2 * k].copy_from_slice(&d.to_le_bytes());
    }
    h[70..72].copy_from_slice(&datatype.to_le_bytes());
    h[72..74].copy_from_slice(&bitpix.to_le_bytes());
    h
}

fn gzip(bytes: &[u8], zeros: usize) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    let block = vec![0u8; 1 << 20];
    for _ in 0..zeros / block.len() {
        e.write_all(&block).unwrap();
    }
    e.finish().unwrap()
}

fn distance(a: &Path, b: &Path, extra: &[&str]) -> Command {
    let mut c = ndstyle();
    c.arg("distance").arg(a).arg(b).args(extra);
    c
}

#[test]
fn memory_bombs_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let png = sample("landscape.png");
    // A .nii.gz declaring 8×8×8 float32 whose gzip stream inflates to 1 GiB of zeros.
    let bomb = d.join("bomb.nii.gz");
    std::fs::write(&bomb, gzip(&nifti_header([8, 8, 8], 16, 32), 1 << 30)).unwrap();
    bomb_refused(
        &mut distance(&bomb, &bomb, &["--max-memory", "4G"]),
        &["bomb.nii.gz", "more than", "declares"],
    );
    // A NIfTI header declaring 30000³ float64 (216 TB): refused by the budget from the header.
    let huge = d.join("huge.nii.gz");
    std::fs::write(&huge, gzip(&nifti_header([30000, 30000, 30000], 64, 64), 0)).unwrap();
    bomb_refused(
        &mut distance(&huge, &huge, &["--max-memory", "4G"]),
        &["huge.nii.gz", "needs", "--max-memory"],
    );
    // Resizing targets.
    let out = d.join("o.png");
    let mut c = ndstyle();
    c.args(["--max-memory", "4G", "stylize", "--quiet", "--max-side", "100000", "--content"])
        .arg(&png)
        .arg("--style")
        .arg(&png);
    bomb_refused(c.arg("-o").arg(&out), &["--max-side", "needs"]);
    let mut c = ndstyle();
    c.args([
        "--max-memory",
        "4G",
        "stylize",
        "--quiet",
        "--max-side",
        "16",
        "--iters",
        "1",
        "--size",
        "100000",
    ]);
    c.arg("--content");
    c.arg(&png).arg("--style").arg(&png).arg("-o").arg(&out);
    bomb_refused(&mut c, &["--size", "needs"]);
    assert!(!out.exists(), "the --size bomb is refused before the optimisation writes anything");
    // STFT lengths and frame counts.
    let wav = d.join("a.wav");
    let tone: Vec<f32> = (0..1 << 16).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
    ndstyle::modality::audio::write_wav(&wav, &tone, 16000, ndstyle::modality::audio::SampleFormat::Int(16))
        .unwrap();
    bomb_refused(
        &mut distance(&wav, &wav, &["--n-fft", "1073741824", "--max-memory", "4G"]),
        &["a.wav", "n-fft"],
    );
    let frames = ["--n-fft", "65536", "--hop", "1", "--max-memory", "4G"];
    bomb_refused(&mut distance(&wav, &wav, &frames), &["a.wav", "spectrogram", "--hop"]);
    // A PNG whose header declares 60000 × 60000 pixels.
    let big = d.join("big.png");
    std::fs::write(&big, png_with_size(60000, 60000)).unwrap();
    bomb_refused(&mut distance(&big, &big, &["--max-memory", "4G"]), &["big.png", "60000×60000"]);
    // What a run holds beside the activations (which tile), from the shapes: a 1000² image
    // under a 64 MiB budget.
    let npy = d.join("wide.npy");
    write_npy(&npy, &[1, 1000, 1000], &vec![0.5; 1_000_000]).unwrap();
    let mut c = ndstyle();
    c.args(["--max-memory", "64M", "stylize", "--quiet", "--rank", "2", "--content"]).arg(&npy);
    c.arg("--style").arg(&npy).arg("-o").arg(d.join("w.npy"));
    bomb_refused(&mut c, &["optimiser", "needs", "--max-memory"]);
    // Sweeps: 10^6 and 10^12 runs are counted, not built.
    let keys = ["extractor:\n  seed", "losses:\n  alpha", "  beta", "  tv"];
    for (values, axes, runs) in [(100, 3, "1000000"), (1000, 4, "1000000000000")] {
        let list = (0..values).map(|v| v.to_string()).collect::<Vec<_>>().join(", ");
        let sweep: String = keys[..axes].iter().map(|k| format!("{k}: [{list}]\n")).collect();
        let yaml = d.join(format!("sweep{axes}.yaml"));
        let text = format!(
            "version: 1\ninputs:\n  content: {}\n  styles: [{}]\n{sweep}",
            png.display(),
            png.display()
        );
        std::fs::write(&yaml, text).unwrap();
        bomb_refused(ndstyle().arg("check").arg(&yaml), &[runs, "100000"]);
    }
}

/// A PNG of `w × h` grey pixels whose data is a single empty IDAT: the header alone is huge.
fn png_with_size(w: u32, h: u32) -> Vec<u8> {
    let chunk = |ty: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        let mut body = ty.to_vec();
        body.extend_from_slice(data);
        let crc = crc32fast::hash(&body);
        c.extend_from_slice(&body);
        c.extend_from_slice(&crc.to_be_bytes());
        c
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(&[0u8; 64]).unwrap();
    png.extend(chunk(b"IDAT", &z.finish().unwrap()));
    png.extend(chunk(b"IEND", &[]));
    png
}

/// A valid 4×4×4 float32 `.nii` volume's bytes.
fn small_nifti() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v.nii");
    let t = Tensor::from_vec(1, 1, [4, 4, 4], (0..64).map(|i| i as f32).collect()).unwrap();
    write_nifti(&p, &t, &VolumeMeta::with_spacing([1.0; 3])).unwrap();
    std::fs::read(&p).unwrap()
}

#[test]
fn hostile_nifti_headers_are_one_line_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = small_nifti();
    let patch = |name: &str, at: usize, bytes: &[u8]| {
        let mut b = good.clone();
        b[at..at + bytes.len()].copy_from_slice(bytes);
        let p = d.join(name);
        std::fs::write(&p, b).unwrap();
        p
    };
    let cases: Vec<(PathBuf, &[&str])> = vec![
        (patch("complex.nii", 70, &[32, 0, 64, 0]), &["complex.nii", "datatype 32", "not supported"]),
        (patch("rgb.nii", 70, &[128, 0, 24, 0]), &["rgb.nii", "datatype 128"]),
        (patch("bitpix.nii", 72, &[16, 0]), &["bitpix.nii", "bitpix 16", "datatype 16"]),
        (patch("sizeof.nii", 0, &[0, 1, 0, 0]), &["sizeof.nii", "sizeof_hdr"]),
        (patch("offset.nii", 108, &1.0e6f32.to_le_bytes()), &["offset.nii", "vox_offset", "beyond"]),
        (patch("dims.nii", 42, &(-4i16).to_le_bytes()), &["dims.nii", "dim[1]"]),
    ];
    let truncated = d.join("short.nii");
    std::fs::write(&truncated, &good[..good.len() - 10]).unwrap();
    let mut gz = gzip(&good, 0);
    let n = gz.len();
    gz[n - 8] ^= 0xff; // the CRC-32 of the trailer
    let crc = d.join("crc.nii.gz");
    std::fs::write(&crc, &gz).unwrap();
    let ok = d.join("ok.nii.gz");
    std::fs::write(&ok, gzip(&good, 0)).unwrap();
    let more: Vec<(PathBuf, &[&str])> =
        vec![(truncated, &["short.nii", "truncated"]), (crc, &["crc.nii.gz", "gzip"])];
    for (p, needles) in cases.iter().chain(&more) {
        let msg = ndstyle::modality::volume::read_nifti(p).map(|_| ()).unwrap_err().to_string();
        for n in *needles {
            assert!(msg.contains(n), "{n:?} not in: {msg}");
        }
        refused(&distance(p, p, &[]).output().unwrap(), &needles[..1]);
    }
    // The same volume, intact and gzipped, still reads.
    let (v, _) = ndstyle::modality::volume::read_nifti(&ok).unwrap();
    assert_eq!(v.data()[63], 63.0);
}

#[test]
fn silent_accepts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A JPEG and a PNG cut in half.
    let noise: Vec<f32> = (0..3 * 64 * 64).map(|i| ((i * 7919) % 255) as f32 / 255.0).collect();
    let img = Tensor::from_vec(1, 3, [64, 64], noise).unwrap();
    for ext in ["jpg", "png"] {
        let full = d.join(format!("full.{ext}"));
        ndstyle::io::image::write_image(&full, &img).unwrap();
        let bytes = std::fs::read(&full).unwrap();
        let half = d.join(format!("half.{ext}"));
        std::fs::write(&half, &bytes[..bytes.len() / 2]).unwrap();
        refused(&distance(&half, &full, &[]).output().unwrap(), &[&format!("half.{ext}"), "truncated"]);
        assert!(ndstyle::io::image::read_image(&full, None).is_ok());
    }
    // A one-sample WAV.
    let wav = d.join("one.wav");
    ndstyle::modality::audio::write_wav(&wav, &[0.5], 16000, ndstyle::modality::audio::SampleFormat::Int(16))
        .unwrap();
    refused(&distance(&wav, &wav, &[]).output().unwrap(), &["one.wav", "too short", "--n-fft"]);
    // An --init-file of another shape.
    let (c, s) = (d.join("c.npy"), d.join("s.npy"));
    write_npy(&c, &[1, 16], &[0.5; 16]).unwrap();
    write_npy(&s, &[1, 16], &[0.25; 16]).unwrap();
    let init = d.join("init.npy");
    write_npy(&init, &[1, 20], &[0.5; 20]).unwrap();
    let init_arg = init.to_string_lossy().into_owned();
    let o =
        stylize(d, &c, &s, &d.join("o.npy"), &["--rank", "1", "--init", "file", "--init-file", &init_arg]);
    refused(&o, &["init.npy", "shape"]);
    // All style weights 0: `check` refuses it, and so does `stylize`.
    let yaml = d.join("zero.yaml");
    let text = format!(
        "version: 1\ninputs:\n  content: {}\n  styles:\n    - {{path: {}, weight: 0}}\n",
        c.display(),
        s.display()
    );
    std::fs::write(&yaml, text).unwrap();
    refused(&ndstyle().arg("check").arg(&yaml).output().unwrap(), &["zero.yaml", "style weight is 0"]);
    let o = stylize(d, &c, &s, &d.join("o.npy"), &["--rank", "1", "--style-weight", "0"]);
    refused(&o, &["style weight is 0"]);
    assert!(!d.join("o.npy").exists());
}

/// Args of a tiny 1D run writing `out`, with a checkpoint at every iteration.
fn tiny_run(c: &Path, s: &Path, out: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        ["stylize", "--quiet", "--rank", "1", "--threads", "1", "--iters", "12", "--checkpoint-every", "1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    for (flag, p) in [("--content", c), ("--style", s), ("-o", out)] {
        v.push(flag.into());
        v.push(p.display().to_string());
    }
    v
}

fn tiny_inputs(d: &Path) -> (PathBuf, PathBuf) {
    let (c, s) = (d.join("c.npy"), d.join("s.npy"));
    let wave = |f: f32| (0..2 * 48).map(|i| (i as f32 * f).sin()).collect::<Vec<_>>();
    write_npy(&c, &[2, 48], &wave(0.3)).unwrap();
    write_npy(&s, &[2, 48], &wave(1.1)).unwrap();
    (c, s)
}

#[test]
fn resume_refuses_empty_truncated_corrupt_and_foreign_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (c, s) = tiny_inputs(d);
    let out = d.join("o.npy");
    let ckpt = d.join("o.ckpt");
    let mut args = tiny_run(&c, &s, &out);
    args.push("--resume".into());
    let o = ndstyle().args(tiny_run(&c, &s, &d.join("ref.npy"))).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A real checkpoint: copied the moment one appears (it is renamed into place whole), then the
    // run is killed; a run too quick to catch is retried.
    let mut good = Vec::new();
    for _ in 0..20 {
        let mut child = ndstyle().args(tiny_run(&c, &s, &out)).spawn().unwrap();
        while good.is_empty() && child.try_wait().unwrap().is_none() {
            good = std::fs::read(&ckpt).unwrap_or_default();
        }
        let _ = child.kill();
        child.wait().unwrap();
        for f in ["o.npy", "o.losses.csv", "o.losses.png", "o.ckpt"] {
            let _ = std::fs::remove_file(d.join(f));
        }
        if !good.is_empty() {
            break;
        }
    }
    assert!(!good.is_empty(), "no checkpoint caught");
    let mut corrupt = good.clone();
    let mid = corrupt.len() / 2;
    corrupt[mid] ^= 0x10;
    let mut foreign = good.clone();
    foreign[8] ^= 0x01; // the fingerprint: another run's checkpoint
    let n = foreign.len();
    let crc = crc32fast::hash(&foreign[..n - 4]);
    foreign[n - 4..].copy_from_slice(&crc.to_le_bytes());
    let cases: [(&[u8], &[&str]); 5] = [
        (b"", &["o.ckpt", "empty", "remove it"]),
        (&good[..good.len() / 3], &["o.ckpt", "truncated", "remove it"]),
        (&corrupt, &["o.ckpt", "corrupt", "remove it"]),
        (&foreign, &["o.ckpt", "other settings", "remove it"]),
        (b"NDSCKPT1 an older format", &["o.ckpt", "magic", "remove it"]),
    ];
    for (bytes, needles) in cases {
        std::fs::write(&ckpt, bytes).unwrap();
        refused(&ndstyle().args(&args).output().unwrap(), needles);
        assert_eq!(std::fs::read(&ckpt).unwrap(), bytes, "a refused checkpoint is left as it was");
        assert!(!out.exists());
    }
    // The real one resumes to the uninterrupted result.
    std::fs::write(&ckpt, &good).unwrap();
    let o = ndstyle().args(&args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(d.join("ref.npy")).unwrap());
}

#[test]
fn kill_9_during_checkpoint_writes_never_leaves_a_wrong_resumable_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (c, s) = tiny_inputs(d);
    let reference = d.join("ref.npy");
    let t0 = std::time::Instant::now();
    let o = ndstyle().args(tiny_run(&c, &s, &reference)).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let full = t0.elapsed();
    let want = std::fs::read(&reference).unwrap();
    let out = d.join("k.npy");
    let mut rng = ndstyle::rng::Rng::new(13);
    let (mut kills, mut resumed, mut refusals) = (0, 0, 0);
    for _ in 0..24 {
        let args = tiny_run(&c, &s, &out);
        let mut child = ndstyle().args(&args).spawn().unwrap();
        let wait = full.mul_f32(rng.uniform().abs().min(1.0) * 1.2);
        std::thread::sleep(wait);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        if out.exists() {
            assert_eq!(std::fs::read(&out).unwrap(), want, "a finished run's result");
            for f in ["k.npy", "k.losses.csv", "k.losses.png", "k.ckpt"] {
                let _ = std::fs::remove_file(d.join(f));
            }
            continue;
        }
        let mut resume = args.clone();
        resume.push("--resume".into());
        let o = ndstyle().args(&resume).output().unwrap();
        if o.status.success() {
            resumed += 1;
            assert_eq!(std::fs::read(&out).unwrap(), want, "a resumed run reaches the uninterrupted bytes");
        } else {
            refusals += 1;
            refused(&o, &["k.ckpt"]);
        }
        for f in ["k.npy", "k.losses.csv", "k.losses.png", "k.ckpt"] {
            let _ = std::fs::remove_file(d.join(f));
        }
    }
    assert!(kills >= 20 && resumed > 0, "kills {kills}, resumed {resumed}, refused {refusals}");
}
