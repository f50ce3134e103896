//! The objective over tiles: the same value and gradient as the whole-input evaluation, in memory bounded by the tile.
//!
//! Pass 1 runs the forward pass of each tile and adds the Gram sums `Σ_p a_p·a_pᵀ` of the
//! positions it owns (see [`crate::tile`]) into the global Gram matrices, normalised by the
//! global `P`. Pass 2 runs each tile's forward pass again, puts at its owned positions the
//! gradient of the content cost and `g·(dG + dGᵀ)·a` for the global `dG = 2s·(G − G_target)`,
//! zero elsewhere, back-propagates it, and adds the whole input gradient of the tile (core and
//! halo: the owned positions read both) into the global gradient. Recomputing the forward pass
//! costs less memory than storing every tile's activations.

use super::objective::Objective;
use super::Breakdown;
use crate::error::{Error, Result};
use crate::nn::Network;
use crate::profile::{timed, Phase};
use crate::tensor::gram::{gram, gram_backward_symmetric, Gram};
use crate::tensor::Tensor;
use crate::tile::{copy_box, crop, Kept, Plan, Tile};

/// The input of tile `t` and its forward pass to `names`.
fn forward_tile<const N: usize>(
    net: &Network<N>,
    x: &Tensor<N>,
    t: &Tile<N>,
    names: &[&str],
) -> Result<crate::nn::Forward<N>> {
    net.forward(&crop(x, t.lo, t.size())?, names)
}

/// The owned part of activation `layer` of a tile's forward pass.
fn owned<const N: usize>(
    net: &Network<N>,
    fwd: &crate::nn::Forward<N>,
    layer: &str,
    k: &Kept<N>,
) -> Result<Tensor<N>> {
    let i = net.index_of(layer)?;
    let a = fwd.get(i).ok_or_else(|| {
        Error::invalid("tiling", format!("layer '{layer}' was not kept by the forward pass"))
    })?;
    crop(a, k.local, k.size)
}

/// Unnormalised Gram sums of `layers` over all tiles of `plan`, in f64, one `B·C·C` vector each.
fn gram_sums<const N: usize>(
    net: &Network<N>,
    x: &Tensor<N>,
    plan: &Plan<N>,
    layers: &[&str],
    on_tile: &mut dyn FnMut(usize, usize),
) -> Result<Vec<(usize, Vec<f64>)>> {
    let mut sums: Vec<(usize, Vec<f64>)> = vec![(0, Vec::new()); layers.len()];
    for (ti, t) in plan.tiles().enumerate() {
        on_tile(ti, plan.len());
        let fwd = forward_tile(net, x, &t, layers)?;
        for (slot, name) in sums.iter_mut().zip(layers) {
            let k = &t.kept[plan.layer(name)?];
            let a = owned(net, &fwd, name, k)?;
            if slot.1.is_empty() {
                *slot = (a.channels(), vec![0.0; a.batch() * a.channels() * a.channels()]);
            }
            if k.is_empty() {
                continue;
            }
            let g = timed(Phase::Gram, || gram(&a, 1.0));
            slot.1.iter_mut().zip(g.data()).for_each(|(s, &v)| *s += v as f64);
        }
    }
    Ok(sums)
}

/// The Gram matrices of `x` at `layers` under `norm`, accumulated over tiles of side `core`.
pub(super) fn grams<const N: usize>(
    net: &Network<N>,
    x: &Tensor<N>,
    layers: &[&str],
    norm: super::Normalization,
    core: usize,
) -> Result<Vec<Gram>> {
    let plan = Plan::new(net, layers, x.spatial(), core)?;
    let sums = gram_sums(net, x, &plan, layers, &mut |_, _| {})?;
    layers
        .iter()
        .zip(sums)
        .map(|(name, (c, s))| {
            let p: usize = plan.layer_spatial(plan.layer(name)?).iter().product();
            let scale = norm.gram_scale(c, p) as f64;
            Gram::from_vec(x.batch(), c, s.iter().map(|v| (v * scale) as f32).collect())
        })
        .collect()
}

/// The activations of `x` at `layers`, assembled from tiles of side `core`.
pub(super) fn activations<const N: usize>(
    net: &Network<N>,
    x: &Tensor<N>,
    layers: &[&str],
    core: usize,
) -> Result<Vec<Tensor<N>>> {
    let plan = Plan::new(net, layers, x.spatial(), core)?;
    let mut out: Vec<Option<Tensor<N>>> = vec![None; layers.len()];
    for t in plan.tiles() {
        let fwd = forward_tile(net, x, &t, layers)?;
        for (slot, name) in out.iter_mut().zip(layers) {
            let li = plan.layer(name)?;
            let k = &t.kept[li];
            let a = owned(net, &fwd, name, k)?;
            let whole =
                slot.get_or_insert_with(|| Tensor::zeros(a.batch(), a.channels(), plan.layer_spatial(li)));
            copy_box(&a, [0; N], whole, k.global, k.size, false)?;
        }
    }
    out.into_iter().map(|t| t.ok_or_else(|| Error::invalid("tiling", "a plan without tiles"))).collect()
}

/// The content and style terms of `J(x)` and their gradient `∂J/∂x`, over the tiles of `plan`
/// (made for `names`, the content layers then the style layers); `on_tile(i, n)` is called as
/// each of the `n` tiles of a pass starts.
pub(super) fn eval<const N: usize>(
    obj: &Objective<'_, N>,
    x: &Tensor<N>,
    plan: &Plan<N>,
    names: &[&str],
    on_tile: &mut dyn FnMut(usize, usize),
) -> Result<(Breakdown, Tensor<N>)> {
    let (net, w) = (obj.net, &obj.weights);
    let style_names: Vec<&str> = obj.style.iter().map(|s| s.layer.as_str()).collect();
    let mut out = Breakdown { total: 0.0, content: 0.0, style: Vec::new(), tv: 0.0, temporal: None };
    // Pass 1: global Gram matrices, the style costs and their gradients dG at G.
    let sums =
        if style_names.is_empty() { Vec::new() } else { gram_sums(net, x, plan, &style_names, on_tile)? };
    let mut dgs = Vec::with_capacity(obj.style.len());
    for (t, (c, sum)) in obj.style.iter().zip(sums) {
        let p: usize = plan.layer_spatial(plan.layer(&t.layer)?).iter().product();
        let (g_scale, s) = (w.norm.gram_scale(c, p), w.norm.style_scale(c, p));
        if t.gram.channels() != c {
            return Err(Error::shape(
                "style loss",
                format!("layer '{}' has {c} channels, its target Gram {}", t.layer, t.gram.channels()),
            ));
        }
        let mut j = 0.0f64;
        let target = t.gram.item(0);
        let dg: Vec<f32> = sum
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let d = v * g_scale as f64 - target[i % (c * c)] as f64;
                j += d * d;
                (2.0 * s * d) as f32
            })
            .collect();
        out.style.push((t.layer.clone(), s * j));
        dgs.push((Gram::from_vec(x.batch(), c, dg)?, g_scale, (w.style * t.weight) as f32));
    }
    // Pass 2: each tile's forward and backward pass against the global dG.
    let mut dx = Tensor::zeros(x.batch(), x.channels(), x.spatial());
    for (ti, t) in plan.tiles().enumerate() {
        on_tile(ti, plan.len());
        let fwd = forward_tile(net, x, &t, names)?;
        let mut grads: Vec<(&str, Tensor<N>)> = Vec::new();
        for (name, target) in &obj.content {
            let li = plan.layer(name)?;
            let k = &t.kept[li];
            let a = owned(net, &fwd, name, k)?;
            let p: usize = plan.layer_spatial(li).iter().product();
            let scale = w.norm.content_scale(a.channels(), p);
            let (j, g) = super::squared_error(&a, &crop(target, k.global, k.size)?, scale, 1.0)?;
            out.content += j;
            grads.push((name, placed(net, &fwd, name, k, &g, w.content as f32)?));
        }
        for (st, (dg, g_scale, weight)) in obj.style.iter().zip(&dgs) {
            let k = &t.kept[plan.layer(&st.layer)?];
            let a = owned(net, &fwd, &st.layer, k)?;
            let g = timed(Phase::Gram, || gram_backward_symmetric(&a, dg, *g_scale));
            grads.push((&st.layer, placed(net, &fwd, &st.layer, k, &g, *weight)?));
        }
        let refs: Vec<(&str, &Tensor<N>)> = grads.iter().map(|(n, g)| (*n, g)).collect();
        let dxt = net.backward(&fwd, &refs)?;
        copy_box(&dxt, [0; N], &mut dx, t.lo, t.size(), true)?;
    }
    Ok((out, dx))
}

/// `k·g` (the gradient at a tile's owned positions) placed in zeros shaped like the tile's activation.
fn placed<const N: usize>(
    net: &Network<N>,
    fwd: &crate::nn::Forward<N>,
    layer: &str,
    kept: &Kept<N>,
    g: &Tensor<N>,
    k: f32,
) -> Result<Tensor<N>> {
    let a = fwd.get(net.index_of(layer)?).ok_or_else(|| Error::invalid("tiling", "activation not kept"))?;
    let mut out = Tensor::zeros(a.batch(), a.channels(), a.spatial());
    copy_box(&g.map(|v| v * k), [0; N], &mut out, kept.local, kept.size, false)?;
    Ok(out)
}
