//! Pretrained VGG16/VGG19 as an extractor of any rank: 2D as loaded, 3D inflated (I3D), 1D reduced.
//!
//! The network starts with a `preprocess` layer ([`Op::ChannelAffine`]) that applies the
//! normalisation the weights were trained with, so it takes RGB in [0, 1]: the optimisation stays
//! in image space and results need no deprocessing. Then come `conv1_1`, `relu1_1`, `conv1_2`,
//! `relu1_2`, `pool1`, … up to `conv5_3`/`relu5_3` (VGG16) or `conv5_4`/`relu5_4` (VGG19); there is
//! no `pool5` (no loss reads past the last block). Every convolution is 3^N with "same" padding.
//!
//! Greyscale inputs (1 channel: grey images, CT/MRI volumes) are replicated to R = G = B by the
//! `preprocess` layer (its permutation reads channel 0 three times). This is exactly the network
//! applied to the grey image shown in colour; summing `conv1_1` over its input channels would be
//! the same up to how the per-channel means are folded into the bias. Other channel counts are
//! rejected with an error.

use super::random::pool_op;
use super::Pooling;
use crate::error::{Error, Result};
use crate::nn::{Conv, Layer, Network, Op};
use crate::tensor::{Tensor, Window};
use crate::weights::{
    inflate, to_1d, Preproc, Reduce1d, VggWeights, CAFFE_BGR_MEAN, IMAGENET_RGB_MEAN, IMAGENET_RGB_STD,
};

/// Default content layer (Gatys et al. 2015).
pub const VGG_CONTENT_LAYERS: &[&str] = &["relu4_2"];
/// Default style layers (Gatys et al. 2015).
pub const VGG_STYLE_LAYERS: &[&str] = &["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"];

/// The `preprocess` layer for inputs with `channels` channels (1: grey, replicated; 3: RGB) in [0, 1].
pub fn preprocess_op<const N: usize>(preproc: Preproc, channels: usize) -> Result<Op<N>> {
    let rgb: [usize; 3] = match channels {
        3 => [0, 1, 2],
        1 => [0, 0, 0],
        c => {
            return Err(Error::invalid(
                "input channels",
                format!("VGG takes RGB (3 channels) or greyscale (1 channel, replicated to RGB), not {c}"),
            ))
        }
    };
    Ok(match preproc {
        // Output channel c is BGR: it reads RGB channel 2 - c.
        Preproc::Caffe => Op::ChannelAffine {
            perm: vec![rgb[2], rgb[1], rgb[0]],
            scale: vec![255.0; 3],
            shift: CAFFE_BGR_MEAN.iter().map(|m| -m).collect(),
        },
        Preproc::Torch => Op::ChannelAffine {
            perm: rgb.to_vec(),
            scale: IMAGENET_RGB_STD.iter().map(|s| 1.0 / s).collect(),
            shift: IMAGENET_RGB_MEAN.iter().zip(IMAGENET_RGB_STD).map(|(m, s)| -m / s).collect(),
        },
    })
}

/// A 2D `Co × Ci × 3 × 3` kernel at rank `N`: 2D as is, 3D inflated over a depth of 3 (I3D,
/// divided by the depth), 1D summed over the rows.
pub fn kernel_at_rank<const N: usize>(k: &Tensor<2>) -> Result<Tensor<N>> {
    let [kh, kw] = k.spatial();
    let (data, spatial): (Vec<f32>, Vec<usize>) = match N {
        1 => (to_1d(k, Reduce1d::SumRows).into_vec(), vec![kw]),
        2 => (k.data().to_vec(), vec![kh, kw]),
        3 => (inflate(k, kh).into_vec(), vec![kh, kh, kw]),
        _ => return Err(Error::invalid("rank", format!("VGG works at ranks 1, 2 and 3, not {N}"))),
    };
    Tensor::from_vec(k.batch(), k.channels(), std::array::from_fn(|d| spatial[d]), data)
}

/// The VGG network of `weights` at rank `N` for inputs with `channels` channels (1 or 3) in [0, 1].
pub fn vgg<const N: usize>(
    weights: &VggWeights,
    pooling: Pooling,
    preproc: Preproc,
    channels: usize,
) -> Result<Network<N>> {
    let mut layers = vec![Layer::new("preprocess", preprocess_op::<N>(preproc, channels)?)];
    let counts = weights.arch.conv_counts();
    let mut cin = 3;
    let mut it = weights.layers.iter();
    for (b, &n) in counts.iter().enumerate() {
        for k in 1..=n {
            let name = format!("conv{}_{k}", b + 1);
            let l = it.next().filter(|l| l.name == name).ok_or_else(|| {
                Error::invalid(
                    "VGG weights",
                    format!("{name} is missing or out of order for {}", weights.arch),
                )
            })?;
            if l.in_channels() != cin || l.kernel_size() != [3, 3] || l.bias.len() != l.out_channels() {
                return Err(Error::shape(
                    "vgg",
                    format!(
                        "{name}: kernel {} with {} biases does not follow {cin} input channels",
                        l.kernel.shape_string(),
                        l.bias.len()
                    ),
                ));
            }
            let conv = Conv::new(kernel_at_rank::<N>(&l.kernel)?, l.bias.clone(), Window::same(3));
            layers.push(Layer::new(name, Op::Conv(conv)));
            layers.push(Layer::new(format!("relu{}_{k}", b + 1), Op::Relu));
            cin = l.out_channels();
        }
        if b + 1 < counts.len() {
            layers.push(Layer::new(format!("pool{}", b + 1), pool_op(pooling)));
        }
    }
    Network::new(channels, layers)
}
