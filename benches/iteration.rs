//! Seconds per style-transfer iteration with the random extractors, by rank and size, and where the time goes.
//!
//! One iteration = the objective's forward pass, Gram style losses, the backward pass to the input,
//! and one L-BFGS step (with a fixed step, so exactly one evaluation per iteration, as in
//! jcjohnson/neural-style's default). Before the criterion timings, each case prints the share of
//! time in convolution, Gram matrices, the optimiser and everything else (ReLU, pooling, copies).

use criterion::{criterion_group, criterion_main, Criterion};
use ndstyle::extractors::{build, random_vgg, Extractor, ExtractorSpec, Pooling, VggShape};
use ndstyle::losses::{Normalization, Objective, Weights};
use ndstyle::optim::{Lbfgs, LbfgsOptions, LineSearch, Optimizer};
use ndstyle::profile::{self, Phase};
use ndstyle::tensor::Tensor;
use std::time::{Duration, Instant};

fn case<const N: usize>(c: &mut Criterion, name: &str, extractor: &str, channels: usize, size: [usize; N]) {
    let ext = build::<N>(&ExtractorSpec { name: extractor.into(), ..Default::default() }, channels).unwrap();
    run_case(c, name, ext, channels, size);
}

/// VGG16's first three blocks (2×64, 2×128, 3×256 channels) with random weights, style at every
/// block's first ReLU and content at relu3_2: the 3D reference shape.
fn vgg_blocks<const N: usize>(c: &mut Criterion, name: &str, channels: usize, size: [usize; N]) {
    let shape = VggShape { blocks: vec![(2, 64), (2, 128), (3, 256)] };
    let net = random_vgg::<N>(channels, &shape, Pooling::Max, 0).unwrap();
    let style_layers = vec!["relu1_1".into(), "relu2_1".into(), "relu3_1".into()];
    let ext =
        Extractor { name: "vgg-blocks1-3".into(), net, content_layers: vec!["relu3_2".into()], style_layers };
    run_case(c, name, ext, channels, size);
}

fn run_case<const N: usize>(
    c: &mut Criterion,
    name: &str,
    ext: Extractor<N>,
    channels: usize,
    size: [usize; N],
) {
    let content = Tensor::<N>::uniform(1, channels, size, 0.0, 1.0, 1);
    let style = Tensor::<N>::uniform(1, channels, size, 0.0, 1.0, 2);
    let layers: Vec<(String, f64)> = ext.style_layers.iter().map(|l| (l.clone(), 1.0)).collect();
    let w = Weights { content: 1.0, style: 1e3, tv: 0.0, norm: Normalization::Lecture };
    let obj = Objective::new(&ext.net, w, Some((&content, &ext.content_layers)), &[(&style, 1.0)], &layers)
        .unwrap();
    let mut x = Tensor::<N>::uniform(1, channels, size, 0.0, 1.0, 3).into_vec();
    let opts = LbfgsOptions { line_search: LineSearch::Fixed, lr: 0.1, ..Default::default() };
    let mut opt = Lbfgs::new(opts).unwrap();
    let eval_secs = std::cell::Cell::new(0.0);
    let mut f = |xs: &[f32], g: &mut [f32]| {
        let t0 = Instant::now();
        let t = Tensor::from_vec(1, channels, size, xs.to_vec())?;
        let (b, grad) = obj.eval(&t)?;
        g.copy_from_slice(grad.data());
        eval_secs.set(eval_secs.get() + t0.elapsed().as_secs_f64());
        Ok(b.total as f32)
    };
    // Breakdown over a few iterations.
    opt.step(&mut x, &mut f).unwrap();
    profile::reset();
    eval_secs.set(0.0);
    let iters = 3;
    let t0 = Instant::now();
    for _ in 0..iters {
        opt.step(&mut x, &mut f).unwrap();
    }
    let total = t0.elapsed().as_secs_f64();
    let (conv, gram) = (profile::seconds(Phase::Conv), profile::seconds(Phase::Gram));
    let optim = total - eval_secs.get();
    let other = eval_secs.get() - conv - gram;
    println!(
        "{name}: {:.3} s/iteration; conv {:.0}%, gram {:.0}%, optimiser {:.0}%, other {:.0}%",
        total / iters as f64,
        100.0 * conv / total,
        100.0 * gram / total,
        100.0 * optim / total,
        100.0 * other / total
    );
    let mut group = c.benchmark_group(name);
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    group.bench_function("iteration", |b| b.iter(|| opt.step(&mut x, &mut f).unwrap()));
    group.finish();
}

fn benches(c: &mut Criterion) {
    case::<2>(c, "iteration2d/random-bank_256x256", "random-bank", 3, [256, 256]);
    case::<2>(c, "iteration2d/random-bank_512x512", "random-bank", 3, [512, 512]);
    case::<1>(c, "iteration1d/random-bank_100k", "random-bank", 1, [100_000]);
    case::<3>(c, "iteration3d/random-bank_64x64x64", "random-bank", 1, [64, 64, 64]);
    case::<1>(c, "iteration1d/spectral_1025x1000", "spectral", 1025, [1000]);
    vgg_blocks::<3>(c, "iteration3d/vgg-blocks1-3_64x64x64", 3, [64, 64, 64]);
}

criterion_group!(iteration, benches);
criterion_main!(iteration);
