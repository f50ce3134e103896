//! Whether a level's evaluations run whole or over tiles, decided from shapes against the memory budget.

use super::{OptimizerKind, Settings};
use crate::budget::{self, Budget};
use crate::error::Result;
use crate::nn::Network;
use crate::optim::LbfgsOptions;
use crate::tensor::Tensor;
use crate::tile::{choose_tile, output_bytes};

/// Input-sized vectors a run holds whatever the tiling: the point and its copies, the gradient,
/// the total-variation gradient and the last evaluated points the runner keeps for its log (16
/// together), plus the optimiser's state (L-BFGS: two per history pair and four working vectors;
/// Adam: its two moments).
fn held_vectors(settings: &Settings) -> u64 {
    16 + match settings.optimizer {
        OptimizerKind::Lbfgs => 2 * LbfgsOptions::default().history as u64 + 4,
        OptimizerKind::Adam { .. } => 2,
    }
}

/// The tile side for one level: the one asked for (`--tile`), or none when the content and every
/// style fit the memory budget ([`Budget::current`]) whole, or the largest that fits after what
/// the run holds beside the activations (the input-sized vectors and the content targets).
/// Refused with what it needs when even that does not fit.
pub(super) fn level_tile<const N: usize>(
    settings: &Settings,
    net: &Network<N>,
    content_layers: &[String],
    style_layers: &[(String, f64)],
    content: &Tensor<N>,
    styles: &[(&Tensor<N>, f64)],
) -> Result<Option<usize>> {
    let mut layers: Vec<&str> = content_layers.iter().map(|l| l.as_str()).collect();
    let content_names = layers.clone();
    layers.extend(style_layers.iter().map(|(l, _)| l.as_str()));
    let input = budget::f32_bytes(&[content.channels(), content.positions()]);
    let targets = if settings.weights.content != 0.0 {
        output_bytes(net, &content_names, content.spatial())? as u128
    } else {
        0
    };
    let held = input.saturating_mul(held_vectors(settings) as u128).saturating_add(targets);
    budget::check(
        &format!(
            "the point, its gradient, the optimiser's state and the content targets of an input of shape {}",
            content.shape_string()
        ),
        held,
        "lower --max-side (inputs.max_side) or use Adam",
    )?;
    let left = (Budget::current().bytes as u128 - held) as u64;
    let mut tile: Option<usize> = None;
    for x in std::iter::once(content).chain(styles.iter().map(|(s, _)| *s)) {
        let t = choose_tile(net, &layers, x.spatial(), left, settings.tile)?;
        tile = match (tile, t) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(tile)
}
