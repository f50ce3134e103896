//! One style-transfer evaluation through VGG16 to relu4_3 at 256² and 512²: style relu1_2, relu2_2,
//! relu3_3, relu4_3, content relu3_3, and the backward pass to the input (the workloads
//! `vgg16_256` and `vgg16_512` of `workloads.rs`, the same work as `scripts/bench_pytorch.py`).
//!
//! Criterion's "elem/s" is FLOP/s here: each iteration's throughput is its convolution FLOP count
//! (forward conv1_1 … conv4_3 plus the same again for their input-backward, 2 per multiply-add;
//! Gram products and pooling not counted), so `Gelem/s` reads as GFLOP/s.
//!
//!   cargo bench --bench vgg            # both sizes
//!   cargo bench --bench vgg -- 256     # one size

mod workloads;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use workloads::vgg16_2d;

fn iteration(c: &mut Criterion) {
    for side in [256usize, 512] {
        let w = vgg16_2d(side);
        eprintln!("vgg bench: VGG16 to relu4_3 with {}", w.weights);
        let (obj, x) = w.objective();
        let mut group = c.benchmark_group(format!("vgg16_iteration/{side}x{side}"));
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(if side > 256 { 20 } else { 10 }));
        group.throughput(Throughput::Elements(w.conv_flops() as u64));
        group.bench_function("forward_backward", |b| b.iter(|| black_box(obj.eval(&x).expect("eval"))));
        group.finish();
    }
}

criterion_group!(vgg_bench, iteration);
criterion_main!(vgg_bench);
