//! A sequential network that returns the activations of named layers and back-propagates gradients given at them.
//!
//! Only the gradient with respect to the input is computed: in style transfer the weights are
//! frozen, so no weight gradients are paid for.

mod affine;
mod layer;
pub mod receptive;

pub use layer::{Conv, Layer, Op};

use crate::error::{Error, Result};
use crate::profile::{timed, Phase};
use crate::tensor::activation::{relu_backward_inplace, relu_inplace};
use crate::tensor::conv::{conv_backward_input_with, conv_bank_backward_input_with};
use crate::tensor::gram::{gram_backward_add, gram_backward_symmetric, Gram};
use crate::tensor::pool::{avg_pool_backward, max_pool_backward, MaxIndices};
use crate::tensor::Tensor;

/// Average pooling never counts padded cells (networks here pool without padding anyway).
pub(crate) const AVG_COUNT_PAD: bool = false;

/// A loss's gradient at a layer's activation `F`, as [`Network::backward_grads`] takes it.
#[derive(Clone, Debug)]
pub enum Grad<const N: usize> {
    /// The gradient itself, shaped like the activation.
    Dense(Tensor<N>),
    /// A Gram-matrix loss's gradient `2·scale·dG·F` (see
    /// [`gram_backward_symmetric`]), formed when the backward pass reaches the layer and added
    /// straight into the gradient flowing down, with no tensor of its own where one flows.
    Gram {
        /// `∂L/∂G`, symmetric, one `C × C` matrix per batch item.
        dg: Gram,
        /// The scale `G` was formed with.
        scale: f32,
    },
}

impl<const N: usize> Grad<N> {
    /// Whether this gradient belongs to activation `a`: its shape, or a Gram matrix per item of
    /// `a`'s channels.
    fn fits(&self, a: &Tensor<N>) -> bool {
        match self {
            Grad::Dense(t) => a.same_shape(t),
            Grad::Gram { dg, .. } => dg.batch() == a.batch() && dg.channels() == a.channels(),
        }
    }
    /// The shape, for errors.
    fn shape_string(&self) -> String {
        match self {
            Grad::Dense(t) => t.shape_string(),
            Grad::Gram { dg, .. } => format!("{}×{c}×{c} (Gram)", dg.batch(), c = dg.channels()),
        }
    }
}

/// A chain of layers applied to a `B × C × S…` input.
#[derive(Clone, Debug)]
pub struct Network<const N: usize> {
    in_channels: usize,
    layers: Vec<Layer<N>>,
}

/// What a forward pass kept: the requested activations and what the backward pass needs.
#[derive(Debug)]
pub struct Forward<const N: usize> {
    depth: usize,
    input_spatial: Vec<[usize; N]>,
    input_channels: Vec<usize>,
    outputs: Vec<Option<Tensor<N>>>,
    indices: Vec<Option<MaxIndices>>,
}

impl<const N: usize> Network<N> {
    /// A network over inputs with `in_channels` channels; layer names must be unique.
    pub fn new(in_channels: usize, layers: Vec<Layer<N>>) -> Result<Self> {
        for (i, l) in layers.iter().enumerate() {
            if layers[..i].iter().any(|m| m.name == l.name) {
                return Err(Error::invalid("network", format!("layer name '{}' is used twice", l.name)));
            }
        }
        Ok(Network { in_channels, layers })
    }

    /// Channels the input must have.
    pub fn in_channels(&self) -> usize {
        self.in_channels
    }
    /// The layers, in order.
    pub fn layers(&self) -> &[Layer<N>] {
        &self.layers
    }
    /// The names of all layers, in order.
    pub fn layer_names(&self) -> Vec<&str> {
        self.layers.iter().map(|l| l.name.as_str()).collect()
    }
    /// Index of the layer called `name`, or an error listing the names there are.
    pub fn index_of(&self, name: &str) -> Result<usize> {
        self.layers.iter().position(|l| l.name == name).ok_or_else(|| {
            Error::invalid(
                "layer",
                format!("'{name}' is not in this network; it has {}", self.layer_names().join(", ")),
            )
        })
    }

    /// Run the network as far as the deepest of `wanted`, keeping those activations.
    ///
    /// # Shapes
    /// `x: B × C_in × S…`; each kept activation is `B × C_l × S_l…`.
    pub fn forward(&self, x: &Tensor<N>, wanted: &[&str]) -> Result<Forward<N>> {
        if x.channels() != self.in_channels {
            return Err(Error::shape(
                "network",
                format!(
                    "input {} has {} channels, the network takes {}",
                    x.shape_string(),
                    x.channels(),
                    self.in_channels
                ),
            ));
        }
        let keep: Vec<usize> = wanted.iter().map(|n| self.index_of(n)).collect::<Result<_>>()?;
        let depth = keep.iter().copied().max().unwrap_or(0);
        let mut fwd = Forward {
            depth,
            input_spatial: Vec::with_capacity(depth + 1),
            input_channels: Vec::with_capacity(depth + 1),
            outputs: vec![None; depth + 1],
            indices: vec![None; depth + 1],
        };
        let mut prev: Option<Tensor<N>> = None;
        for i in 0..=depth {
            // The previous layer's output is kept if it was asked for, or if it is a ReLU's
            // (whose backward pass needs it).
            let keep_prev = i > 0 && (keep.contains(&(i - 1)) || matches!(self.layers[i - 1].op, Op::Relu));
            let input = prev.as_ref().unwrap_or(x);
            fwd.input_spatial.push(input.spatial());
            fwd.input_channels.push(input.channels());
            let out = match &self.layers[i].op {
                Op::Relu => {
                    let mut y = match prev.take() {
                        Some(t) if !keep_prev => t,
                        Some(t) => {
                            let y = t.clone();
                            prev = Some(t);
                            y
                        }
                        None => x.clone(),
                    };
                    relu_inplace(&mut y);
                    y
                }
                Op::MaxPool(_) => {
                    let (y, idx) = self.layers[i].op.max_pool(input)?;
                    fwd.indices[i] = Some(idx);
                    y
                }
                op => op.forward(input)?,
            };
            if let Some(p) = prev.take() {
                if keep_prev {
                    fwd.outputs[i - 1] = Some(p);
                }
            }
            prev = Some(out);
        }
        fwd.outputs[depth] = prev;
        Ok(fwd)
    }

    /// The gradient with respect to the input, given `∂L/∂a` at named layers of a forward pass.
    pub fn backward(&self, fwd: &Forward<N>, grads: &[(&str, &Tensor<N>)]) -> Result<Tensor<N>> {
        self.backward_owned(fwd, grads.iter().map(|(n, g)| (*n, (*g).clone())).collect())
    }

    /// [`Network::backward`] taking the gradients by value: they are accumulated and passed down
    /// in place (ReLU masks them where they are), so no gradient is copied.
    pub fn backward_owned(&self, fwd: &Forward<N>, grads: Vec<(&str, Tensor<N>)>) -> Result<Tensor<N>> {
        self.backward_grads(fwd, grads.into_iter().map(|(n, g)| (n, Grad::Dense(g))).collect())
    }

    /// [`Network::backward_owned`] with gradients that may be Gram losses' (see [`Grad`]).
    pub fn backward_grads(&self, fwd: &Forward<N>, grads: Vec<(&str, Grad<N>)>) -> Result<Tensor<N>> {
        let mut at: Vec<Vec<Grad<N>>> = (0..=fwd.depth).map(|_| Vec::new()).collect();
        for (name, g) in grads {
            let i = self.index_of(name)?;
            let Some(a) = fwd.activation_at(i) else {
                return Err(Error::invalid(
                    "backward",
                    format!("layer '{name}' was not kept by the forward pass"),
                ));
            };
            if !g.fits(a) {
                return Err(Error::shape(
                    "backward",
                    format!(
                        "gradient {} at '{name}' does not match its activation {}",
                        g.shape_string(),
                        a.shape_string()
                    ),
                ));
            }
            at[i].push(g);
        }
        let mut g: Option<Tensor<N>> = None;
        for i in (0..=fwd.depth).rev() {
            for extra in std::mem::take(&mut at[i]) {
                match (extra, g.as_mut()) {
                    (Grad::Dense(t), Some(acc)) => acc.axpy(1.0, &t)?,
                    (Grad::Dense(t), None) => g = Some(t),
                    (Grad::Gram { dg, scale }, acc) => {
                        let a = fwd.outputs[i].as_ref().expect("checked above");
                        match acc {
                            Some(acc) => timed(Phase::Gram, || gram_backward_add(a, &dg, scale, acc)),
                            None => g = Some(timed(Phase::Gram, || gram_backward_symmetric(a, &dg, scale))),
                        }
                    }
                }
            }
            let Some(mut dy) = g.take() else { continue };
            let input = fwd.input_spatial[i];
            g = Some(match &self.layers[i].op {
                Op::Conv(c) => conv_backward_input_with(&dy, c.weight(), &c.window, input, c.prepared())?,
                Op::Bank(convs) => {
                    let bank: Vec<_> = convs.iter().map(|c| (c.weight(), &c.window)).collect();
                    let preps: Vec<_> = convs.iter().map(|c| c.prepared().clone()).collect();
                    conv_bank_backward_input_with(&dy, &bank, input, &preps)?
                }
                Op::Relu => {
                    let y = fwd.outputs[i].as_ref().expect("relu outputs are always kept");
                    relu_backward_inplace(y, &mut dy);
                    dy
                }
                Op::MaxPool(_) => {
                    let idx = fwd.indices[i].as_ref().expect("max-pool indices are always kept");
                    max_pool_backward(&dy, idx, input)?
                }
                Op::AvgPool(w) => avg_pool_backward(&dy, w, input, AVG_COUNT_PAD)?,
                Op::ChannelAffine { perm, scale, .. } => {
                    affine::backward(&dy, perm, scale, fwd.input_channels[i])?
                }
            });
        }
        let (b, c, s) = (fwd.outputs_batch(), self.in_channels, fwd.input_spatial[0]);
        Ok(g.unwrap_or_else(|| Tensor::zeros(b, c, s)))
    }
}

impl<const N: usize> Forward<N> {
    fn activation_at(&self, i: usize) -> Option<&Tensor<N>> {
        self.outputs.get(i).and_then(|o| o.as_ref())
    }
    fn outputs_batch(&self) -> usize {
        self.outputs.iter().flatten().next().map_or(1, |t| t.batch())
    }
    /// The activation of layer index `i` if the pass kept it.
    pub fn get(&self, i: usize) -> Option<&Tensor<N>> {
        self.activation_at(i)
    }
}
