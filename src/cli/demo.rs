//! `ndstyle demo`: make the bundled samples and stylise one of each kind with the embedded defaults.

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::{Args, Parser};

use super::{Cli, Command};

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Folder for the samples and the results (must not exist yet, or pass --overwrite).
    #[arg(short, long, default_value = "out/demo")]
    pub output: PathBuf,
    /// Iterations per sample.
    #[arg(long, default_value_t = 50)]
    pub iters: usize,
    /// Replace results from an earlier demo in the same folder.
    #[arg(long)]
    pub overwrite: bool,
    /// No progress bars.
    #[arg(short, long)]
    pub quiet: bool,
}

/// One demo: the kind, its content and style samples, the result's name, and extra options.
const CASES: &[(&str, &str, &str, &str, &[&str])] = &[
    (
        "ECG (3 leads, 500 Hz)",
        "signals/ecg_60bpm.csv",
        "signals/ecg_90bpm.csv",
        "ecg.csv",
        &["--beta", "1e4"],
    ),
    (
        "audio (spectrogram)",
        "audio/melody.wav",
        "audio/texture.wav",
        "audio.wav",
        &["--n-fft", "512", "--hop", "128"],
    ),
    ("image", "images/landscape.png", "images/waves.png", "image.png", &[]),
    (
        "volume (CT-like)",
        "volumes/phantom.nii.gz",
        "volumes/texture.nii.gz",
        "volume.nii.gz",
        &["--beta", "1e4"],
    ),
    ("video (time as an axis)", "video/disc", "video/waves", "video", &["--beta", "1e4"]),
];

pub fn run(a: &DemoArgs) -> anyhow::Result<()> {
    let samples = a.output.join("samples");
    ndstyle::datasets::generate(&samples)?;
    for (what, content, style, out, extra) in CASES {
        let result = a.output.join(out);
        if result.exists() && !a.overwrite {
            bail!("{} exists; pass --overwrite to replace it", result.display());
        }
        if !a.quiet {
            eprintln!("{what}: {content} in the style of {style} -> {}", result.display());
        }
        stylize(&samples.join(content), &samples.join(style), &result, a, extra)?;
    }
    if !a.quiet {
        eprintln!(
            "results in {}: ecg.csv, audio.wav, image.png, volume.nii.gz, video/ (frames), each with .losses.csv and .losses.png",
            a.output.display()
        );
    }
    Ok(())
}

fn stylize(content: &Path, style: &Path, out: &Path, a: &DemoArgs, extra: &[&str]) -> anyhow::Result<()> {
    let mut args: Vec<String> = vec!["ndstyle".into(), "stylize".into()];
    for (flag, path) in [("--content", content), ("--style", style), ("--output", out)] {
        args.extend([flag.to_string(), path.display().to_string()]);
    }
    args.extend(["--iters".into(), a.iters.to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    if a.overwrite {
        args.push("--overwrite".into());
    }
    if a.quiet {
        args.push("--quiet".into());
    }
    match Cli::try_parse_from(&args)?.command {
        Command::Stylize(s) => super::stylize::run(&s),
        _ => unreachable!("the arguments name the stylize command"),
    }
}
