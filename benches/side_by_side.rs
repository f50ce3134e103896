//! One style-transfer evaluation of each side-by-side workload (see `workloads.rs`), timed by criterion.
//!
//! `scripts/bench_side_by_side.sh` runs this and `scripts/bench_pytorch.py` and prints the ratio
//! table from criterion's medians. Criterion's `Gelem/s` is GFLOP/s of convolution here (the
//! throughput is each evaluation's convolution FLOP count). Before timing, each workload prints
//! one line `side-by-side NAME conv_gflop=… peak_mib=…` (peak resident memory of one evaluation).
//!
//!   cargo bench --bench side_by_side              # every workload
//!   cargo bench --bench side_by_side -- vgg16_256 # one

mod workloads;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use workloads::{audio, ecg, peak_memory_mib, reset_peak_memory, vgg16_2d, vgg3d, Workload};

/// Time one workload, unless criterion's filter (the first free argument) excludes it.
fn run<const N: usize>(c: &mut Criterion, make: impl FnOnce() -> Workload<N>, name: &str, secs: u64) {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if filter.is_some_and(|f| !name.contains(&f)) {
        return;
    }
    let w = make();
    reset_peak_memory();
    let (obj, x) = w.objective();
    black_box(obj.eval(&x).expect("eval"));
    let peak = peak_memory_mib().map_or("?".to_string(), |m| format!("{m:.0}"));
    println!("side-by-side {} conv_gflop={:.2} peak_mib={peak} ({})", w.name, w.conv_flops() * 1e-9, w.weights);
    let mut group = c.benchmark_group(format!("side_by_side_{}", w.name));
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
