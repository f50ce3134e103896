//! Activation memory of a forward and backward pass estimated from shapes, and the choice of tile.

use super::Plan;
use crate::budget::human;
use crate::error::{Error, Result};
use crate::nn::{Network, Op};

/// Channels and spatial size of the output of every layer up to index `depth`, for an input of
/// spatial size `spatial`.
fn shapes<const N: usize>(
    net: &Network<N>,
    depth: usize,
    spatial: [usize; N],
) -> Result<Vec<(usize, [usize; N])>> {
    let (mut size, mut channels) = (spatial, net.in_channels());
    let mut out = Vec::with_capacity(depth + 1);
    for l in net.layers().iter().take(depth + 1) {
        match &l.op {
            Op::Conv(c) => {
                size = c.window.resolve(size)?.output;
                channels = c.out_channels();
            }
            Op::Bank(convs) => {
                let first = convs.first().ok_or_else(|| Error::invalid("filter bank", "it has no branch"))?;
                size = first.window.resolve(size)?.output;
                channels = convs.iter().map(|c| c.out_channels()).sum();
            }
            Op::MaxPool(w) | Op::AvgPool(w) => size = w.resolve(size)?.output,
            Op::Relu | Op::ChannelAffine { .. } => {}
        }
        out.push((channels, size));
    }
    Ok(out)
}

fn elems<const N: usize>(c: usize, s: &[usize; N]) -> u64 {
    s.iter().fold(c as u64, |acc, &v| acc.saturating_mul(v as u64))
}

/// Bytes of the output of each of `layers` for one input item of spatial size `spatial` (what
/// content targets hold).
pub fn output_bytes<const N: usize>(net: &Network<N>, layers: &[&str], spatial: [usize; N]) -> Result<u64> {
    let index: Vec<usize> = layers.iter().map(|l| net.index_of(l)).collect::<Result<_>>()?;
    let all = shapes(net, index.iter().copied().max().unwrap_or(0), spatial)?;
    Ok(index.iter().map(|&i| 4 * elems(all[i].0, &all[i].1)).fold(0, u64::saturating_add))
}

/// Bytes a forward pass to the deepest of `layers` and the backward pass from them hold at their
/// peak, for one input item of spatial size `spatial`.
///
/// The forward pass keeps every ReLU's output and every requested activation, and max pooling
/// keeps one index per output; at any moment one layer's input and output are live beside them,
/// and the backward pass adds a gradient at each loss layer and two working gradients. The
/// convolutions' unfolded buffers are bounded by their own tiling and are not counted.
pub fn activation_bytes<const N: usize>(
    net: &Network<N>,
    layers: &[&str],
    spatial: [usize; N],
) -> Result<u64> {
    let wanted: Vec<usize> = layers.iter().map(|l| net.index_of(l)).collect::<Result<_>>()?;
    let depth = wanted.iter().copied().max().unwrap_or(0);
    let (mut kept, mut largest) = (0u64, elems(net.in_channels(), &spatial));
    for (i, (l, (c, s))) in net.layers().iter().zip(shapes(net, depth, spatial)?).enumerate() {
        let e = elems(c, &s);
        largest = largest.max(e);
        if matches!(l.op, Op::MaxPool(_)) {
            kept = kept.saturating_add(e);
        }
        if matches!(l.op, Op::Relu) || wanted.contains(&i) {
            kept = kept.saturating_add(e);
        }
        if wanted.contains(&i) {
            kept = kept.saturating_add(e);
        }
    }
    Ok(kept.saturating_add(largest.saturating_mul(3)).saturating_mul(4))
}

/// The tile core side (input positions per axis) an evaluation over an input of size `spatial`
/// should use: `requested` if given; none if the whole pass fits in `budget` bytes; otherwise the
/// largest power-of-two multiple of the total stride whose tiles fit; a budget error if none does.
pub fn choose_tile<const N: usize>(
    net: &Network<N>,
    layers: &[&str],
    spatial: [usize; N],
    budget: u64,
    requested: Option<usize>,
) -> Result<Option<usize>> {
    if let Some(t) = requested {
        if t == 0 {
            return Err(Error::invalid("tile", "0 (a tile must hold at least one position per axis)"));
        }
        return Ok(Some(t));
    }
    let whole = activation_bytes(net, layers, spatial)?;
    if whole <= budget {
        return Ok(None);
    }
    let longest = spatial.iter().copied().max().unwrap_or(1);
    let mut core = longest.next_power_of_two();
    let mut smallest = whole;
    while core >= 1 {
        let plan = Plan::new(net, layers, spatial, core)?;
        let bytes = activation_bytes(net, layers, plan.max_tile())?;
        if bytes <= budget && plan.len() > 1 {
            return Ok(Some(core));
        }
        smallest = smallest.min(bytes);
        core /= 2;
    }
    Err(Error::Budget(format!(
        "the activations of an input of size {spatial:?} need {} of memory whole and {} in the smallest tile, above the {} left of the budget; lower --max-side (inputs.max_side), use shallower layers, or raise the budget with --max-memory (max_memory: in YAML)",
        human(whole as u128),
        human(smallest as u128),
        human(budget as u128)
    )))
}
