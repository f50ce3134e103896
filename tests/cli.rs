//! The `ndstyle` binary as a user runs it: outputs, determinism, kill and resume, one-line errors.

use crate::util::{assert_one_line_error, ndstyle};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/images").join(name)
}

fn stylize_args(out: &Path, iters: &str) -> Vec<String> {
    let mut v: Vec<String> = vec!["stylize".into(), "--content".into()];
    v.push(sample("landscape.png").display().to_string());
    v.extend(["--style".into(), sample("waves.png").display().to_string()]);
    v.extend(["-o".into(), out.display().to_string(), "--max-side".into(), "24".into()]);
    v.extend(["--iters".into(), iters.into(), "--quiet".into(), "--threads".into(), "2".into()]);
    v
}

#[test]
fn stylize_writes_result_log_and_plot_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
    for out in [&a, &b] {
        let o = ndstyle().args(stylize_args(out, "4")).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "same seed, same bytes");
    let csv = std::fs::read_to_string(dir.path().join("a.losses.csv")).unwrap();
    assert!(csv.starts_with("iteration,total,content,style_relu1,tv,seconds"), "{csv}");
    assert_eq!(csv.lines().count(), 1 + 5, "header, iteration 0 and four iterations");
    assert!(dir.path().join("a.losses.png").exists());
    assert!(!dir.path().join("a.ckpt").exists(), "the checkpoint is removed after success");
    // An existing result is never overwritten without --overwrite.
    let before = std::fs::read(&a).unwrap();
    let o = ndstyle().args(stylize_args(&a, "2")).output().unwrap();
    assert_one_line_error(&o, &["a.png", "--overwrite"]);
    assert_eq!(std::fs::read(&a).unwrap(), before);
}

#[test]
fn killed_run_resumes_to_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let straight = dir.path().join("straight.npy");
    let killed = dir.path().join("killed.npy");
    let mut args = stylize_args(&straight, "30");
    args.extend(["--checkpoint-every".into(), "1".into()]);
    assert!(ndstyle().args(&args).status().unwrap().success());
    let args_killed: Vec<String> = args
        .iter()
        .map(|a| if *a == straight.display().to_string() { killed.display().to_string() } else { a.clone() })
        .collect();
    let mut child = ndstyle().args(&args_killed).spawn().unwrap();
    let ckpt = dir.path().join("killed.ckpt");
    let start = Instant::now();
    while !ckpt.exists() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    if killed.exists() {
        // The machine was fast enough to finish first; the resume path is still exercised below.
        std::fs::remove_file(&killed).unwrap();
    }
    assert!(ckpt.exists(), "no checkpoint appeared");
    // Without --resume the stale checkpoint is reported, not silently reused or overwritten.
    let o = ndstyle().args(&args_killed).output().unwrap();
    assert_one_line_error(&o, &["killed.ckpt", "--resume"]);
    let mut resume = args_killed.clone();
    resume.push("--resume".into());
    let o = ndstyle().args(&resume).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(&straight).unwrap(), std::fs::read(&killed).unwrap());
}

#[test]
fn bad_inputs_give_one_line_errors_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.npy");
    let run_with = |content: &Path, style: &Path, extra: &[&str]| {
        ndstyle()
            .args(["stylize", "--quiet", "--rank", "1"])
            .args(extra)
            .arg("-o")
            .arg(&out)
            .arg("--content")
            .arg(content)
            .arg("--style")
            .arg(style)
            .output()
            .unwrap()
    };
    let run = |content: &Path, style: &Path| run_with(content, style, &["--iters", "2"]);
    let good = dir.path().join("good.npy");
    ndstyle::io::npy::write_npy(&good, &[2, 16], &[0.5; 32]).unwrap();
    let three = dir.path().join("three.npy");
    ndstyle::io::npy::write_npy(&three, &[3, 16], &[0.5; 48]).unwrap();
    let empty = dir.path().join("empty.npy");
    std::fs::write(&empty, b"").unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, b"hello").unwrap();
    let missing = dir.path().join("missing.npy");
    assert_one_line_error(&run(&missing, &good), &["missing.npy"]);
    assert_one_line_error(&run(&empty, &good), &["empty.npy"]);
    assert_one_line_error(&run(&text, &good), &["notes.txt", "not a supported input"]);
    assert_one_line_error(&run(&good, &three), &["three.npy", "3 channels"]);
    let nan = dir.path().join("nan.npy");
    ndstyle::io::npy::write_npy(&nan, &[2, 16], &[f32::NAN; 32]).unwrap();
    assert_one_line_error(&run(&nan, &good), &["nan.npy"]);
    assert!(!out.exists(), "nothing is written on error");
    assert_one_line_error(&run_with(&good, &good, &["--iters", "0"]), &["--iters", "at least 1"]);
    let o = run_with(&good, &good, &["--iters", "2", "--extractor", "nope"]);
    assert_one_line_error(&o, &["nope", "random-bank"]);
}

#[test]
fn distance_is_zero_to_itself_and_positive_to_another() {
    let o = ndstyle()
        .arg("distance")
        .arg(sample("waves.png"))
        .arg(sample("waves.png"))
        .args(["--max-side", "32"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let value = |t: &str, key: &str| -> f64 {
        t.lines()
            .find(|l| l.starts_with(&format!("{key}\t")))
            .unwrap()
            .split('\t')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(value(&text, "content"), 0.0);
    assert_eq!(value(&text, "style"), 0.0);
    let o = ndstyle()
        .arg("distance")
        .arg(sample("waves.png"))
        .arg(sample("stripes.png"))
        .args(["--max-side", "32"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(value(&text, "style") > 0.0 && value(&text, "content") > 0.0, "{text}");
}

#[test]
fn demo_stylises_one_sample_of_each_kind() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let o = ndstyle().args(["demo", "--quiet", "--iters", "2", "-o"]).arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in
        ["ecg.csv", "audio.wav", "image.png", "volume.nii.gz", "video/frame_00000.png", "image.losses.png"]
    {
        assert!(out.join(f).exists(), "{f} missing");
    }
    // A second demo into the same folder does not overwrite the results.
    let o = ndstyle().args(["demo", "--quiet", "--iters", "2", "-o"]).arg(&out).output().unwrap();
    assert_one_line_error(&o, &["ecg.csv", "--overwrite"]);
}
