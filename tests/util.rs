//! Shared helpers for the integration tests: finite differences and tolerances.

#![allow(dead_code)]

/// Central finite difference of `f` at `x` along every coordinate, in f64 for accuracy.
pub fn numeric_grad(x: &[f32], eps: f32, mut f: impl FnMut(&[f32]) -> f64) -> Vec<f64> {
    let mut x = x.to_vec();
    (0..x.len())
        .map(|i| {
            let orig = x[i];
            x[i] = orig + eps;
            let up = f(&x);
            x[i] = orig - eps;
            let down = f(&x);
            x[i] = orig;
            (up - down) / (2.0 * eps as f64)
        })
        .collect()
}

/// Asserts `got` and `want` agree within `rtol·max|want| + atol` everywhere; names `what` on failure.
#[track_caller]
pub fn assert_close(what: &str, got: &[f32], want: &[f64], rtol: f64, atol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g as f64 - w).abs();
        assert!(err <= rtol * scale + atol, "{what}: index {i}: got {g}, want {w} (scale {scale})");
    }
}

/// The `ndstyle` binary built for these tests.
pub fn ndstyle() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_ndstyle"))
}

/// The command failed with exactly one line on stderr that contains every one of `needles`.
#[track_caller]
pub fn assert_one_line_error(out: &std::process::Output, needles: &[&str]) {
    assert!(!out.status.success(), "expected failure");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line expected, got: {err}");
    for n in needles {
        assert!(err.contains(n), "'{n}' missing from: {err}");
    }
}

/// The names in `dir`, sorted (to check that failed writes leave nothing, temp files included).
pub fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
