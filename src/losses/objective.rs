//! The weighted objective J(G) = α·J_content + β·Σ_l λ_l·J_style^l + τ·TV, evaluated with its gradient.

use super::{
    content_loss_weighted, style_gram, style_loss_gram, total_variation, total_variation_grad, Normalization,
};
use crate::error::{Error, Result};
use crate::nn::{Grad, Network};
use crate::tensor::gram::Gram;
use crate::tensor::Tensor;
use crate::tile::Plan;

/// The weights of the objective's terms.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    /// α, the content weight.
    pub content: f64,
    /// β, the style weight.
    pub style: f64,
    /// τ, the total-variation weight.
    pub tv: f64,
    pub norm: Normalization,
}

/// A style layer's target: the blend of the style inputs' Gram matrices, and its weight λ_l.
#[derive(Clone, Debug)]
pub struct StyleTarget {
    pub layer: String,
    pub weight: f64,
    pub gram: Gram,
}

/// The value of each term at one point (unweighted per-layer style costs, for logs).
#[derive(Clone, Debug, PartialEq)]
pub struct Breakdown {
    pub total: f64,
    pub content: f64,
    /// `(layer, J_style^l)` before λ_l and β.
    pub style: Vec<(String, f64)>,
    pub tv: f64,
    /// The temporal-consistency cost before its weight ([`super::temporal`]); `None` when the
    /// objective has no such term.
    pub temporal: Option<f64>,
}

/// The objective of style transfer for one network, with its targets captured.
#[derive(Clone, Debug)]
pub struct Objective<'a, const N: usize> {
    pub(super) net: &'a Network<N>,
    pub(super) weights: Weights,
    pub(super) content: Vec<(String, Tensor<N>)>,
    pub(super) style: Vec<StyleTarget>,
    /// Tile core side for capture and evaluation ([`crate::tile`]); `None`: the whole input at once.
    tile: Option<usize>,
}

impl<'a, const N: usize> Objective<'a, N> {
    /// Capture the targets: content activations of `content` at `content_layers`, and at each style
    /// layer the blend `Σ_s w_s·G(S_s)` of the styles' Gram matrices (blend weights normalised to sum 1).
    pub fn new(
        net: &'a Network<N>,
        weights: Weights,
        content: Option<(&Tensor<N>, &[String])>,
        styles: &[(&Tensor<N>, f64)],
        style_layers: &[(String, f64)],
    ) -> Result<Self> {
        Self::tiled(net, weights, content, styles, style_layers, None)
    }

    /// As [`Objective::new`], with targets captured and every evaluation run over tiles of `tile`
    /// input positions per axis when given (the same values to float rounding, in bounded memory).
    pub fn tiled(
        net: &'a Network<N>,
        weights: Weights,
        content: Option<(&Tensor<N>, &[String])>,
        styles: &[(&Tensor<N>, f64)],
        style_layers: &[(String, f64)],
        tile: Option<usize>,
    ) -> Result<Self> {
        let mut content_targets = Vec::new();
        if let Some((c, layers)) = content {
            let names: Vec<&str> = layers.iter().map(|s| s.as_str()).collect();
            for (name, a) in names.iter().zip(activations(net, c, &names, tile)?) {
                content_targets.push((name.to_string(), a));
            }
        }
        let names: Vec<&str> = style_layers.iter().map(|(s, _)| s.as_str()).collect();
        let grams = blend(styles, |s| style_grams(net, s, &names, weights.norm, tile))?;
        let style = style_layers
            .iter()
            .zip(grams)
            .map(|((layer, weight), gram)| StyleTarget { layer: layer.clone(), weight: *weight, gram })
            .collect();
        // The capture's buffers have other sizes than an evaluation's: none is kept for it.
        crate::heap::release();
        Ok(Objective { net, weights, content: content_targets, style, tile })
    }

    /// The style targets (for inspection and distances).
    pub fn style_targets(&self) -> &[StyleTarget] {
        &self.style
    }

    /// The tile core side evaluations use, if any.
    pub fn tile(&self) -> Option<usize> {
        self.tile
    }

    /// How many tiles an evaluation at spatial size `spatial` runs over (1: the whole input).
    pub fn tiles(&self, spatial: [usize; N]) -> Result<usize> {
        let names = self.layer_names();
        match (self.tile, names.is_empty()) {
            (Some(core), false) => Ok(Plan::new(self.net, &names, spatial, core)?.len()),
            _ => Ok(1),
        }
    }

    /// The content layers, then the style layers.
    fn layer_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.content.iter().map(|(n, _)| n.as_str()).collect();
        names.extend(self.style.iter().map(|s| s.layer.as_str()));
        names
    }

    /// `J(x)` term by term, and `∂J/∂x`. `x` must be a single item (batch 1). Tiled evaluations
    /// report their tiles to [`crate::tile::progress`].
    pub fn eval(&self, x: &Tensor<N>) -> Result<(Breakdown, Tensor<N>)> {
        self.eval_with(x, &mut crate::tile::progress::report)
    }

    /// As [`Objective::eval`]; when it runs over several tiles, `on_tile(i, n)` is called as tile
    /// `i` of the `n` of each pass starts.
    pub fn eval_with(
        &self,
        x: &Tensor<N>,
        on_tile: &mut dyn FnMut(usize, usize),
    ) -> Result<(Breakdown, Tensor<N>)> {
        let names = self.layer_names();
        let w = &self.weights;
        if let (Some(core), false) = (self.tile, names.is_empty()) {
            let plan = Plan::new(self.net, &names, x.spatial(), core)?;
            if plan.len() > 1 {
                let (out, dx) = super::tiled::eval(self, x, &plan, &names, on_tile)?;
                return self.finish(x, out, dx);
            }
        }
        let mut out = Breakdown { total: 0.0, content: 0.0, style: Vec::new(), tv: 0.0, temporal: None };
        let dx = if names.is_empty() {
            Tensor::zeros(x.batch(), x.channels(), x.spatial())
        } else {
            let fwd = self.net.forward(x, &names)?;
            let mut grads: Vec<(&str, Grad<N>)> = Vec::new();
            for (name, target) in &self.content {
                let a = fwd.get(self.net.index_of(name)?).expect("kept");
                let (j, g) = content_loss_weighted(a, target, w.norm, w.content)?;
                out.content += j;
                grads.push((name, Grad::Dense(g)));
            }
            for t in &self.style {
                let a = fwd.get(self.net.index_of(&t.layer)?).expect("kept");
                let repeated;
                let target = if a.batch() == t.gram.batch() {
                    &t.gram
                } else {
                    repeated = broadcast(&t.gram, a.batch());
                    &repeated
                };
                let (j, dg, scale) = style_loss_gram(a, target, w.norm, w.style * t.weight)?;
                out.style.push((t.layer.clone(), j));
                grads.push((&t.layer, Grad::Gram { dg, scale }));
            }
            self.net.backward_grads(&fwd, grads)?
        };
        self.finish(x, out, dx)
    }

    /// Add the total-variation term to the content and style terms and their gradient `dx`.
    fn finish(&self, x: &Tensor<N>, mut out: Breakdown, mut dx: Tensor<N>) -> Result<(Breakdown, Tensor<N>)> {
        let w = &self.weights;
        out.tv = total_variation(x);
        if w.tv != 0.0 {
            dx.axpy(w.tv as f32, &total_variation_grad(x))?;
        }
        out.total = w.content * out.content
            + w.style * self.style.iter().zip(&out.style).map(|(t, (_, j))| t.weight * j).sum::<f64>()
            + w.tv * out.tv;
        Ok((out, dx))
    }
}

/// The activations of `x` at `names`, over tiles of side `tile` when given.
fn activations<const N: usize>(
    net: &Network<N>,
    x: &Tensor<N>,
    names: &[&str],
    tile: Option<usize>,
) -> Result<Vec<Tensor<N>>> {
    if let (Some(core), false) = (tile, names.is_empty()) {
        return super::tiled::activations(net, x, names, core);
    }
    let fwd = net.forward(x, names)?;
    names
        .iter()
        .map(|n| Ok(fwd.get(net.index_of(n)?).expect("forward keeps requested layers").clone()))
        .collect()
}

/// The Gram matrices of `x` at `names` under `norm`, over tiles of side `tile` when given.
fn style_grams<const N: usize>(
    net: &Network<N>,
    x: &Tensor<N>,
    names: &[&str],
    norm: Normalization,
    tile: Option<usize>,
) -> Result<Vec<Gram>> {
    if let (Some(core), false) = (tile, names.is_empty()) {
        return super::tiled::grams(net, x, names, norm, core);
    }
    let fwd = net.forward(x, names)?;
    names.iter().map(|n| Ok(style_gram(fwd.get(net.index_of(n)?).expect("kept"), norm))).collect()
}

/// The blend `Σ_s w_s·G_s / Σ_s w_s` over the styles of each layer's Gram matrix (batch items
/// averaged first), from `grams_of(style)` giving one Gram per layer; no styles give no layers.
pub(super) fn blend<T>(
    styles: &[(T, f64)],
    mut grams_of: impl FnMut(&T) -> Result<Vec<Gram>>,
) -> Result<Vec<Gram>> {
    let total: f64 = styles.iter().map(|(_, w)| w).sum();
    if !styles.is_empty() && (total.is_nan() || total <= 0.0) {
        return Err(Error::invalid(
            "style blend weights",
            format!("they sum to {total}; they must sum to more than 0"),
        ));
    }
    let mut grams: Vec<Gram> = Vec::new();
    for (s, w) in styles {
        let share = (w / total) as f32;
        let layers = grams_of(s)?;
        if grams.is_empty() {
            grams = layers.iter().map(|g| scaled(average_items(g), share)).collect();
            continue;
        }
        for (acc, g) in grams.iter_mut().zip(layers) {
            let g = average_items(&g);
            acc.data_mut().iter_mut().zip(g.data()).for_each(|(a, b)| *a += share * b);
        }
    }
    Ok(grams)
}

fn scaled(mut g: Gram, k: f32) -> Gram {
    g.data_mut().iter_mut().for_each(|v| *v *= k);
    g
}

/// The mean of a batch of Gram matrices, as one matrix.
fn average_items(g: &Gram) -> Gram {
    let c = g.channels();
    let mut out = Gram::zeros(1, c);
    for b in 0..g.batch() {
        out.data_mut().iter_mut().zip(g.item(b)).for_each(|(a, v)| *a += v / g.batch() as f32);
    }
    out
}

/// One Gram matrix repeated for `batch` items.
fn broadcast(g: &Gram, batch: usize) -> Gram {
    let data = (0..batch).flat_map(|_| g.item(0).iter().copied()).collect();
    Gram::from_vec(batch, g.channels(), data).expect("sizes agree")
}
