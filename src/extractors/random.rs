//! Seeded random extractors: a multi-scale filter bank and a VGG-shaped stack, for any rank.

use super::Pooling;
use crate::error::{Error, Result};
use crate::nn::{Conv, Layer, Network, Op};
use crate::tensor::{Padding, Tensor, Window};

/// Filter sizes and maps per size of a random bank.
#[derive(Clone, Debug, PartialEq)]
pub struct BankSpec {
    /// Kernel side per branch (the same on every axis); odd sizes keep outputs centred.
    pub sizes: Vec<usize>,
    /// Feature maps per size.
    pub maps: usize,
}

impl BankSpec {
    /// Per-rank defaults: Ustyuzhaninov et al. (2017) used sizes 3–55 with 128 maps each in 2D;
    /// that costs hundreds of GFLOP per iteration, so the defaults keep their spread of scales with
    /// fewer maps, and shrink the largest sizes as the number of taps grows with the rank.
    pub fn default_for(rank: usize) -> Self {
        match rank {
            1 => BankSpec { sizes: vec![3, 5, 9, 15, 25, 41, 55], maps: 64 },
            2 => BankSpec { sizes: vec![3, 5, 7, 11, 15], maps: 32 },
            _ => BankSpec { sizes: vec![3, 5, 7], maps: 32 },
        }
    }
}

/// One layer `conv1` (a bank of "same"-padded convolutions of each size) followed by `relu1`.
pub fn random_bank<const N: usize>(channels: usize, spec: &BankSpec, seed: u64) -> Result<Network<N>> {
    if spec.sizes.is_empty() || spec.maps == 0 || spec.sizes.contains(&0) {
        return Err(Error::invalid(
            "filter bank",
            format!("sizes {:?} with {} maps each", spec.sizes, spec.maps),
        ));
    }
    let convs = spec
        .sizes
        .iter()
        .enumerate()
        .map(|(i, &k)| he_conv::<N>(channels, spec.maps, k, seed.wrapping_add(i as u64 * 7919)))
        .collect();
    Network::new(channels, vec![Layer::new("conv1", Op::Bank(convs)), Layer::new("relu1", Op::Relu)])
}

/// Channel widths and convolutions per block of a VGG-shaped network.
#[derive(Clone, Debug, PartialEq)]
pub struct VggShape {
    /// `(convolutions, channels)` per block.
    pub blocks: Vec<(usize, usize)>,
}

impl VggShape {
    /// Three blocks: 2×32, 2×64, 3×128 (VGG16's first three blocks at half width).
    pub fn small() -> Self {
        VggShape { blocks: vec![(2, 32), (2, 64), (3, 128)] }
    }
    /// VGG16's thirteen convolutions and widths (Simonyan & Zisserman 2015).
    pub fn vgg16() -> Self {
        VggShape { blocks: vec![(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)] }
    }
}

/// VGG naming (`conv{b}_{i}`, `relu{b}_{i}`, `pool{b}`) with random He-initialised 3^N kernels.
pub fn random_vgg<const N: usize>(
    channels: usize,
    shape: &VggShape,
    pooling: Pooling,
    seed: u64,
) -> Result<Network<N>> {
    let mut layers = Vec::new();
    let mut cin = channels;
    for (b, &(convs, width)) in shape.blocks.iter().enumerate() {
        for i in 0..convs {
            let s = seed.wrapping_add((b * 16 + i) as u64 * 104_729);
            layers.push(Layer::new(
                format!("conv{}_{}", b + 1, i + 1),
                Op::Conv(he_conv::<N>(cin, width, 3, s)),
            ));
            layers.push(Layer::new(format!("relu{}_{}", b + 1, i + 1), Op::Relu));
            cin = width;
        }
        if b + 1 < shape.blocks.len() {
            layers.push(Layer::new(format!("pool{}", b + 1), pool_op(pooling)));
        }
    }
    Network::new(channels, layers)
}

/// The 2^N, stride-2 pooling between VGG blocks.
pub(crate) fn pool_op<const N: usize>(pooling: Pooling) -> Op<N> {
    let w = Window::new([2; N]).stride([2; N]).padding(Padding::valid());
    match pooling {
        Pooling::Max => Op::MaxPool(w),
        Pooling::Avg => Op::AvgPool(w),
    }
}

/// A "same"-padded convolution with He-normal weights (std √(2 / fan-in)) and zero bias.
fn he_conv<const N: usize>(cin: usize, cout: usize, k: usize, seed: u64) -> Conv<N> {
    let fan_in = cin * k.pow(N as u32);
    let std = (2.0 / fan_in as f32).sqrt();
    Conv::new(Tensor::randn(cout, cin, [k; N], std, seed), vec![0.0; cout], Window::same(k))
}
