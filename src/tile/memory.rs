//! Activation memory of a forward and backward pass estimated from shapes, and the choice of tile.

use super::Plan;
use crate::error::{Error, Result};
use crate::nn::{Network, Op};

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
    let (mut size, mut channels) = (spatial, net.in_channels());
    let elems = |c: usize, s: &[usize; N]| c as u64 * s.iter().map(|&v| v as u64).product::<u64>();
    let (mut kept, mut largest) = (0u64, elems(channels, &size));
    for (i, l) in net.layers()[..=depth].iter().enumerate() {
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
            Op::MaxPool(w) => {
                size = w.resolve(size)?.output;
                kept += elems(channels, &size);
            }
            Op::AvgPool(w) => size = w.resolve(size)?.output,
            Op::Relu | Op::ChannelAffine { .. } => {}
        }
        let e = elems(channels, &size);
        largest = largest.max(e);
        if matches!(l.op, Op::Relu) || wanted.contains(&i) {
            kept += e;
        }
        if wanted.contains(&i) {
            kept += e;
        }
    }
    Ok(4 * (kept + 3 * largest))
}

/// The tile core side (input positions per axis) an evaluation over an input of size `spatial`
/// should use: `requested` if given; none if the whole pass fits in `budget` bytes; otherwise the
/// largest power-of-two multiple of the total stride whose tiles fit; an error if none does.
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
    Err(Error::invalid(
        "memory budget",
        format!(
            "{budget} bytes: the whole input needs about {whole} and the smallest tile {smallest}; raise the budget"
        ),
    ))
}

/// A default memory budget: half of the machine's memory (from `/proc/meminfo`), or 4 GiB where
/// that cannot be read.
pub fn machine_budget() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    });
    total.map_or(4 << 30, |kb| kb * 1024 / 2)
}
