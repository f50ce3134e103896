//! One style-transfer evaluation of each side-by-side workload (see `workloads.rs`), timed by criterion.
//!
//! `scripts/bench_side_by_side.sh` runs this and `scripts/bench_pytorch.py` and prints the ratio
//! table from criterion's medians. Criterion's `Gelem/s` is GFLOP/s of convolution here (the
//! throughput is each evaluation's convolution FLOP count). Before timing, each workload prints
//! one line `side-by-side NAME conv_gflop=… peak_mib=…` (peak resident memory of one evaluation).
//!
//!   cargo bench --bench side_by_side              # every workload
//!   cargo bench --bench side_by_side -- vgg16_256 # one
//!   NDSTYLE_KERNELS=plain cargo bench --bench side_by_side  # im2col and full Gram only
//!   NDSTYLE_KERNELS=all,-winograd cargo bench ...          # all fast kernels but one
//!
//! With `NDSTYLE_KERNELS` set (see `ndstyle::tensor::kernels::Kernels::parse`) the groups are
//! named `side_by_side_<setting>_<workload>`, so they do not overwrite the default run's.

mod workloads;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use ndstyle::tensor::kernels::{self, Kernels};
use workloads::{audio, ecg, peak_memory_mib, reset_peak_memory, vgg16_2d, vgg3d, Workload};

/// Time one workload, unless criterion's filter (the first free argument) excludes it.
fn run<const N: usize>(c: &mut Criterion, make: impl FnOnce() -> Workload<N>, name: &str, secs: u64) {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if filter.is_some_and(|f| !name.contains(&f)) {
        return;
    }
    let setting = std::env::var("NDSTYLE_KERNELS").ok();
    let kernels = setting.as_deref().map_or(Some(Kernels::DEFAULT), Kernels::parse);
    let Some(kernels) = kernels else {
        eprintln!("side_by_side: NDSTYLE_KERNELS={setting:?}: expected all, plain or default, then ,NAME or ,-NAME (winograd, shift, syrk)");
        std::process::exit(2);
    };
    kernels::set(kernels);
    let prefix = setting.map_or(String::new(), |s| format!("{}_", s.replace(',', "_")));
    let w = make();
    reset_peak_memory();
    let (obj, x) = w.objective();
    black_box(obj.eval(&x).expect("eval"));
    let peak = peak_memory_mib().map_or("?".to_string(), |m| format!("{m:.0}"));
    println!(
        "side-by-side {prefix}{} conv_gflop={:.2} peak_mib={peak} ({})",
        w.name,
        w.conv_flops() * 1e-9,
        w.weights
    );
    let mut group = c.benchmark_group(format!("side_by_side_{prefix}{}", w.name));
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(secs));
    group.throughput(Throughput::Elements(w.conv_flops() as u64));
    group.bench_function("eval", |b| b.iter(|| black_box(obj.eval(&x).expect("eval"))));
    group.finish();
}

fn benches(c: &mut Criterion) {
    run(c, || vgg16_2d(256), "vgg16_256", 8);
    run(c, || vgg16_2d(512), "vgg16_512", 25);
    run(c, audio, "audio_1025x1000", 15);
    run(c, ecg, "ecg_100k", 8);
    run(c, vgg3d, "vgg3d_64", 25);
}

criterion_group!(side_by_side, benches);
criterion_main!(side_by_side);
