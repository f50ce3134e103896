//! The layers a feature extractor is made of: convolution, a bank of parallel convolutions, ReLU,
//! pooling, and a per-channel affine input normalisation.

use crate::error::{Error, Result};
use crate::tensor::conv::{conv_bank_forward_with, conv_forward_with};
use crate::tensor::pool::{avg_pool, max_pool, MaxIndices};
use crate::tensor::{Prepared, Tensor, Window};

/// A convolution with frozen weights. The kernel is private and never changes, so the forms
/// derived from it (transposed, Winograd-transformed) are made once and kept ([`Prepared`]).
#[derive(Clone, Debug)]
pub struct Conv<const N: usize> {
    /// `Co × Ci × K…`.
    weight: Tensor<N>,
    /// `Co` values.
    pub bias: Vec<f32>,
    pub window: Window<N>,
    prepared: Prepared,
}

impl<const N: usize> Conv<N> {
    /// A convolution by `weight` (`Co × Ci × K…`) plus `bias` (`Co` values) over `window`.
    pub fn new(weight: Tensor<N>, bias: Vec<f32>, window: Window<N>) -> Self {
        Conv { weight, bias, window, prepared: Prepared::default() }
    }
    /// The kernel, `Co × Ci × K…`.
    pub fn weight(&self) -> &Tensor<N> {
        &self.weight
    }
    /// The kernel's derived forms.
    pub(crate) fn prepared(&self) -> &Prepared {
        &self.prepared
    }
    /// Output channels.
    pub fn out_channels(&self) -> usize {
        self.weight.batch()
    }
    fn forward(&self, x: &Tensor<N>) -> Result<Tensor<N>> {
        conv_forward_with(x, &self.weight, Some(&self.bias), &self.window, &self.prepared)
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
                let bank: Vec<_> = convs.iter().map(|c| (&c.weight, c.bias.as_slice(), &c.window)).collect();
                let preps: Vec<_> = convs.iter().map(|c| c.prepared.clone()).collect();
                conv_bank_forward_with(x, &bank, &preps)
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
