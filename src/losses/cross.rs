//! Cross-rank style: a rank-M style (M = N − 1) compared with the rank-M slices of a rank-N result.
//!
//! For each chosen axis `a`, the result `x` is cut into its `S_a` slices across `a` (a
//! permutation, [`crate::tensor::slice`]), the rank-M extractor runs on all of them as one batch,
//! and at each style layer the slices' statistics are pooled into **one Gram matrix per axis**:
//!
//! `Ĝ_a = 1/(S_a·P) · Σ_slices F·Fᵀ` (P positions per slice at that layer),
//!
//! the per-position Gram of all positions of all slices together; the style's is
//! `Ĝ_S = 1/P_S · F_S·F_Sᵀ`. Pooling (rather than one Gram per slice, each compared with the
//! target) is what "the statistics of the slices" means (Kopf et al. 2007 match the histograms of
//! all slices of an orientation together): a slice need not carry the whole texture on its own,
//! only the slices of an orientation together; and it costs one comparison per axis. Per-position
//! Grams make slices and styles of different sizes comparable (a volume's slices along different
//! axes have different sizes in general).
//!
//! The cost of a layer and axis is the normalisation's cost written per position:
//! `J = k·Σ (Ĝ_a − Ĝ_S)²` with `k = s(C, 1)·g(C, 1)²` ([`Normalization::style_scale`],
//! [`Normalization::gram_scale`]; `1/(4C²)` for the lecture's and Gatys', `1/C²` for Johnson's),
//! which equals the same-rank style cost exactly when there is one slice of the style's size.
//! A layer's cost is the mean over the axes (so β means the same whatever the number of axes).
//!
//! The content cost stays with the rank-N extractor ([`Objective`] without style targets): the
//! content is rank N, so it needs no slicing and no choice of axes, and the existing content
//! targets, tiling and total variation apply unchanged.

use super::objective::{blend, Objective};
use super::temporal::TemporalMask;
use super::{Breakdown, Normalization, StyleTarget};
use crate::error::{Error, Result};
use crate::nn::Network;
use crate::profile::{timed, Phase};
use crate::tensor::gram::{gram, gram_backward_symmetric, Gram};
use crate::tensor::slice::{slices, unslice};
use crate::tensor::Tensor;

/// The style term at one point: see [`SliceStyle::eval`].
#[derive(Clone, Debug)]
pub struct SliceEval<const N: usize> {
    /// `(layer@axis, J_{l,a})`, unweighted.
    pub costs: Vec<(String, f64)>,
    /// `Σ_l λ_l · mean_a J_{l,a}` (before β).
    pub total: f64,
    /// `β·∂total/∂x`.
    pub grad: Tensor<N>,
}

/// The style term of a rank-N result against rank-M styles, over the slices across `axes`.
#[derive(Clone, Debug)]
pub struct SliceStyle<'a, const M: usize> {
    net: &'a Network<M>,
    norm: Normalization,
    /// Per-position Gram targets `Ĝ_S` (blended over the styles) and the layer weights λ_l.
    targets: Vec<StyleTarget>,
    axes: Vec<usize>,
}

impl<'a, const M: usize> SliceStyle<'a, M> {
    /// Capture the targets: at each style layer, the blend `Σ_s w_s·Ĝ(S_s) / Σ_s w_s` of the
    /// styles' per-position Gram matrices from the rank-M extractor `net`. `axes` are the axes of
    /// the rank-N result to slice across (at least one, no repeats).
    pub fn new(
        net: &'a Network<M>,
        norm: Normalization,
        styles: &[(&Tensor<M>, f64)],
        style_layers: &[(String, f64)],
        axes: &[usize],
    ) -> Result<Self> {
        if styles.is_empty() {
            return Err(Error::invalid("styles", "at least one style input is needed"));
        }
        if axes.is_empty() || axes.iter().enumerate().any(|(i, a)| axes[..i].contains(a)) {
            return Err(Error::invalid("slice axes", format!("{axes:?} (need one or more distinct axes)")));
        }
        let names: Vec<&str> = style_layers.iter().map(|(l, _)| l.as_str()).collect();
        let grams = blend(styles, |s| {
            let fwd = net.forward(s, &names)?;
            names.iter().map(|n| Ok(pooled_gram(fwd.get(net.index_of(n)?).expect("kept")))).collect()
        })?;
        let targets = style_layers
            .iter()
            .zip(grams)
            .map(|((layer, weight), gram)| StyleTarget { layer: layer.clone(), weight: *weight, gram })
            .collect();
        Ok(SliceStyle { net, norm, targets, axes: axes.to_vec() })
    }

    /// The per-position target Gram matrices and layer weights.
    pub fn targets(&self) -> &[StyleTarget] {
        &self.targets
    }

    /// The axes sliced across.
    pub fn axes(&self) -> &[usize] {
        &self.axes
    }

    /// The names of the costs [`SliceStyle::eval`] returns, in its order: `layer@axis`, axis by axis.
    pub fn names(&self) -> Vec<String> {
        self.axes.iter().flat_map(|a| self.targets.iter().map(move |t| format!("{}@{a}", t.layer))).collect()
    }

    /// The cost `J_{l,a}` of every layer and axis (unweighted, named as by [`SliceStyle::names`]),
    /// their weighted sum `Σ_l λ_l · mean_a J_{l,a}`, and its gradient with respect to `x` times
    /// `weight` (β). `x` is rank `N = M + 1`.
    pub fn eval<const N: usize>(&self, x: &Tensor<N>, weight: f64) -> Result<SliceEval<N>> {
        let names: Vec<&str> = self.targets.iter().map(|t| t.layer.as_str()).collect();
        let share = 1.0 / self.axes.len() as f64;
        let (mut costs, mut total) = (Vec::new(), 0.0);
        let mut dx = Tensor::zeros(x.batch(), x.channels(), x.spatial());
        for &axis in &self.axes {
            let s: Tensor<M> = slices(x, axis)?;
            let fwd = self.net.forward(&s, &names)?;
            let mut grads = Vec::with_capacity(self.targets.len());
            for t in &self.targets {
                let a = fwd.get(self.net.index_of(&t.layer)?).expect("kept");
                let (j, g) = pooled_style_loss(a, &t.gram, self.norm, weight * t.weight * share)?;
                costs.push((format!("{}@{axis}", t.layer), j));
                total += t.weight * share * j;
                grads.push((t.layer.as_str(), g));
            }
            let ds = self.net.backward_owned(&fwd, grads)?;
            dx.axpy(1.0, &unslice(&ds, axis, x.spatial())?)?;
        }
        Ok(SliceEval { costs, total, grad: dx })
    }
}

/// The per-position Gram `1/(B·P) · Σ_b F_b·F_bᵀ` of all items of `a` together, as one matrix.
pub fn pooled_gram<const M: usize>(a: &Tensor<M>) -> Gram {
    let c = a.channels();
    let g = timed(Phase::Gram, || gram(a, 1.0 / (a.batch() * a.positions()).max(1) as f32));
    let mut out = Gram::zeros(1, c);
    for b in 0..g.batch() {
        out.data_mut().iter_mut().zip(g.item(b)).for_each(|(o, v)| *o += v);
    }
    out
}

/// `(J, weight·∂J/∂a)` for `J = k·Σ (Ĝ(a) − target)²`, `Ĝ` the [`pooled_gram`] of `a`'s items and
/// `k = s(C, 1)·g(C, 1)²` under `norm` (see the module documentation).
pub fn pooled_style_loss<const M: usize>(
    a: &Tensor<M>,
    target: &Gram,
    norm: Normalization,
    weight: f64,
) -> Result<(f64, Tensor<M>)> {
    let c = a.channels();
    if target.channels() != c || target.batch() != 1 {
        return Err(Error::shape(
            "slice style loss",
            format!("activation {} vs target Gram {}×{c}×{c}", a.shape_string(), target.batch()),
        ));
    }
    let k = norm.style_scale(c, 1) * (norm.gram_scale(c, 1) as f64).powi(2);
    let mut dg = pooled_gram(a);
    let mut sum = 0.0f64;
    for (g, &t) in dg.data_mut().iter_mut().zip(target.data()) {
        let d = (*g - t) as f64;
        sum += d * d;
        *g = (2.0 * k * weight * d) as f32;
    }
    let repeated =
        Gram::from_vec(a.batch(), c, (0..a.batch()).flat_map(|_| dg.data().iter().copied()).collect())?;
    let scale = 1.0 / (a.batch() * a.positions()).max(1) as f32;
    Ok((k * sum, timed(Phase::Gram, || gram_backward_symmetric(a, &repeated, scale))))
}

/// The whole cross-rank objective: content and total variation from a rank-N [`Objective`]
/// without style targets, the slice-wise style term, and optionally the temporal term.
#[derive(Clone, Debug)]
pub struct CrossObjective<'a, const N: usize, const M: usize> {
    base: Objective<'a, N>,
    style: SliceStyle<'a, M>,
    temporal: Option<(TemporalMask<N>, f64)>,
}

impl<'a, const N: usize, const M: usize> CrossObjective<'a, N, M> {
    /// Join the terms. `base` must hold no style targets (its style weight β weighs `style`);
    /// `temporal` is the mask and its weight, `None` for no temporal term.
    pub fn new(
        base: Objective<'a, N>,
        style: SliceStyle<'a, M>,
        temporal: Option<(TemporalMask<N>, f64)>,
    ) -> Result<Self> {
        if !base.style_targets().is_empty() {
            return Err(Error::invalid("cross objective", "the rank-N objective must hold no style targets"));
        }
        if let Some((_, w)) = &temporal {
            if !(w.is_finite() && *w >= 0.0) {
                return Err(Error::invalid("temporal weight", format!("{w} (must be finite and >= 0)")));
            }
        }
        Ok(CrossObjective { base, style, temporal })
    }

    /// The cost names of the style term, then `temporal` when there is one (as in [`Breakdown`]).
    pub fn names(&self) -> Vec<String> {
        let mut names = self.style.names();
        if self.temporal.is_some() {
            names.push("temporal".into());
        }
        names
    }

    /// The rank-N part (content and total variation).
    pub fn base(&self) -> &Objective<'a, N> {
        &self.base
    }

    /// `J(x)` term by term (style costs per layer and axis, see [`SliceStyle::eval`]) and `∂J/∂x`.
    pub fn eval(&self, x: &Tensor<N>) -> Result<(Breakdown, Tensor<N>)> {
        let (mut b, mut dx) = self.base.eval(x)?;
        let beta = self.base.weights.style;
        let style = self.style.eval(x, beta)?;
        dx.axpy(1.0, &style.grad)?;
        b.style = style.costs;
        b.total += beta * style.total;
        if let Some((mask, w)) = &self.temporal {
            let (j, g) = mask.loss(x)?;
            dx.axpy(*w as f32, &g)?;
            b.temporal = Some(j);
            b.total += w * j;
        }
        Ok((b, dx))
    }
}
