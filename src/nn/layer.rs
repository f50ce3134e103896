//! The layers a feature extractor is made of: convolution, a bank of parallel convolutions, ReLU,
//! pooling, and a per-channel affine input normalisation.

use crate::error::{Error, Result};
use crate::tensor::conv::conv_forward;
use crate::tensor::pool::{avg_pool, max_pool, MaxIndices};
use crate::tensor::{Tensor, Window};

/// A convolution with frozen weights.
#[derive(Clone, Debug)]
pub struct Conv<const N: usize> {
    /// `Co × Ci × K…`.
    pub weight: Tensor<N>,
    /// `Co` values.
    pub bias: Vec<f32>,
    pub window: Window<N>,
}

impl<const N: usize> Conv<N> {
    /// Output channels.
    pub fn out_channels(&self) -> usize {
        self.weight.batch()
    }
    fn forward(&self, x: &Tensor<N>) -> Result<Tensor<N>> {
        conv_forward(x, &self.weight, Some(&self.bias), &self.window)
    }
}

/// What a layer does.
#[derive(Clone, Debug)]
pub enum Op<const N: usize> {
    Conv(Conv<N>),
    /// Convolutions of several sizes on the same input, outputs stacked along channels in order
    /// (a multi-scale filter bank, as in Ustyuzhaninov et al. 2017). All must keep the spatial size.
    Bank(Vec<Conv<N>>),
    Relu,
    MaxPool(Window<N>),
    AvgPool(Window<N>),
    /// `y[c] = scale[c] · x[perm[c]] + shift[c]`: input normalisation (see [`super::affine`]).
    ChannelAffine {
        perm: Vec<usize>,
        scale: Vec<f32>,
        shift: Vec<f32>,
    },
}

/// A named layer.
#[derive(Clone, Debug)]
pub struct Layer<const N: usize> {
    pub name: String,
    pub op: Op<N>,
}

impl<const N: usize> Layer<N> {
    /// A layer called `name` doing `op`.
    pub fn new(name: impl Into<String>, op: Op<N>) -> Self {
        Layer { name: name.into(), op }
    }
}

impl<const N: usize> Op<N> {
    /// Forward for every op but max pooling (which also returns indices).
    pub(crate) fn forward(&self, x: &Tensor<N>) -> Result<Tensor<N>> {
        match self {
            Op::Conv(c) => c.forward(x),
            Op::Bank(convs) => {
                let outs = convs.iter().map(|c| c.forward(x)).collect::<Result<Vec<_>>>()?;
                concat_channels(&outs)
            }
            Op::Relu => Ok(x.map(|v| v.max(0.0))),
            Op::MaxPool(_) => Ok(self.max_pool(x)?.0),
            Op::AvgPool(w) => avg_pool(x, w, super::AVG_COUNT_PAD),
            Op::ChannelAffine { perm, scale, shift } => super::affine::forward(x, perm, scale, shift),
        }
    }

    pub(crate) fn max_pool(&self, x: &Tensor<N>) -> Result<(Tensor<N>, MaxIndices)> {
        match self {
            Op::MaxPool(w) => max_pool(x, w),
            _ => Err(Error::invalid("layer", "max_pool called on a layer that is not max pooling")),
        }
    }
}

/// Stack tensors of equal batch and spatial size along channels.
pub(crate) fn concat_channels<const N: usize>(parts: &[Tensor<N>]) -> Result<Tensor<N>> {
    let first = parts
        .first()
        .ok_or_else(|| Error::invalid("bank", "a filter bank needs at least one convolution"))?;
    let (b, s) = (first.batch(), first.spatial());
    if let Some(bad) = parts.iter().find(|t| t.batch() != b || t.spatial() != s) {
        return Err(Error::shape(
            "bank",
            format!(
                "branch outputs {} and {} differ in size; use 'same' padding",
                first.shape_string(),
                bad.shape_string()
            ),
        ));
    }
    let c: usize = parts.iter().map(|t| t.channels()).sum();
    let mut out = Vec::with_capacity(b * c * first.positions());
    for i in 0..b {
        for t in parts {
            out.extend_from_slice(t.item(i));
        }
    }
    Tensor::from_vec(b, c, s, out)
}

/// Channels `start..start + count` of every batch item.
pub(crate) fn channel_slice<const N: usize>(x: &Tensor<N>, start: usize, count: usize) -> Result<Tensor<N>> {
    if start + count > x.channels() {
        return Err(Error::shape(
            "channel_slice",
            format!("channels {start}..{} of {}", start + count, x.shape_string()),
        ));
    }
    let p = x.positions();
    let mut out = Vec::with_capacity(x.batch() * count * p);
    for b in 0..x.batch() {
        out.extend_from_slice(&x.item(b)[start * p..(start + count) * p]);
    }
    Tensor::from_vec(x.batch(), count, x.spatial(), out)
}
