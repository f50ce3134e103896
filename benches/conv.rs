//! Convolution throughput by rank and shape: forward and input-backward, reported as GFLOP/s.
//!
//! Criterion's "elem/s" is FLOP/s here: each iteration's throughput is its floating-point operation
//! count (2 per multiply-add), so `Gelem/s` reads as GFLOP/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndstyle::tensor::conv::{conv_backward_input, conv_flops, conv_forward};
use ndstyle::tensor::{Tensor, Window};
use std::hint::black_box;
use std::time::Duration;

fn bench_shape<const N: usize>(
    c: &mut Criterion,
    name: &str,
    ci: usize,
    co: usize,
    kernel: usize,
    input: [usize; N],
) {
    let win = Window::<N>::same(kernel);
    let x = Tensor::<N>::randn(1, ci, input, 1.0, 1);
    let w = Tensor::<N>::randn(co, ci, [kernel; N], 0.05, 2);
    let bias = vec![0.1; co];
    let flops = conv_flops(1, ci, co, &win, input).unwrap();
    let dy = conv_forward(&x, &w, Some(&bias), &win).unwrap();
    let mut group = c.benchmark_group(name);
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(flops as u64));
    group.bench_function("forward", |b| {
        b.iter(|| black_box(conv_forward(&x, &w, Some(&bias), &win).unwrap()))
    });
    group.bench_function("backward_input", |b| {
        b.iter(|| black_box(conv_backward_input(&dy, &w, &win, input).unwrap()))
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_shape::<2>(c, "conv2d/c64_k3_256x256", 64, 64, 3, [256, 256]);
    bench_shape::<2>(c, "conv2d/c128_k3_128x128", 128, 128, 3, [128, 128]);
    bench_shape::<1>(c, "conv1d/c1025_to_4096_k11_430", 1025, 4096, 11, [430]);
    bench_shape::<3>(c, "conv3d/c32_k3_64x64x64", 32, 32, 3, [64, 64, 64]);
}

criterion_group!(conv, benches);
criterion_main!(conv);
