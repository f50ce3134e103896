//! Where each tile reads and which positions of each loss layer it owns, exactly, axis by axis.

use crate::error::{Error, Result};
use crate::nn::receptive::receptive_field_at;
use crate::nn::{Network, Op};
use crate::tensor::geometry::unravel;
use crate::tensor::{Padding, Window};

/// The positions of one loss layer that a tile owns: a box in the layer's global grid (`global`)
/// and the same box in the grid of the tile's own forward pass (`local`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kept<const N: usize> {
    pub global: [usize; N],
    pub local: [usize; N],
    pub size: [usize; N],
}

impl<const N: usize> Kept<N> {
    /// Whether the tile owns no position of this layer.
    pub fn is_empty(&self) -> bool {
        self.size.contains(&0)
    }
}

/// One tile: the input box `lo..hi` its forward pass reads, and what it owns at each loss layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tile<const N: usize> {
    pub lo: [usize; N],
    pub hi: [usize; N],
    /// One per layer of [`Plan::layers`], in order.
    pub kept: Vec<Kept<N>>,
}

impl<const N: usize> Tile<N> {
    /// Extent of the input box.
    pub fn size(&self) -> [usize; N] {
        std::array::from_fn(|d| self.hi[d] - self.lo[d])
    }
}

/// One axis of one tile.
#[derive(Clone, Debug, PartialEq, Eq)]
struct AxisTile {
    lo: usize,
    hi: usize,
    /// Per loss layer: the owned range `k0..k1` in global layer coordinates, and the offset of the
    /// tile's layer grid in the global one.
    kept: Vec<(usize, usize, usize)>,
}

/// The tiles of one input size for one network and set of loss layers.
///
/// Along each axis, tile cores start on multiples of the network's total stride; a layer whose
/// cumulative stride is `s` gives position `o` to the tile whose core holds input coordinate
/// `o·s` (the last tile takes the rest), so the tiles partition every loss layer's positions.
/// A tile reads the receptive fields of the positions it owns, widened until every window's
/// padding resolves as in the whole input; then its forward pass reproduces the global
/// activations at those positions exactly.
#[derive(Clone, Debug)]
pub struct Plan<const N: usize> {
    layers: Vec<String>,
    global: Vec<[usize; N]>,
    spatial: [usize; N],
    axes: Vec<Vec<AxisTile>>,
}

impl<const N: usize> Plan<N> {
    /// Tiles with cores of `core` input positions per axis (rounded up to the total stride) over an
    /// input of size `spatial`, owning the positions of `layers` (names, duplicates allowed).
    pub fn new(net: &Network<N>, layers: &[&str], spatial: [usize; N], core: usize) -> Result<Self> {
        let mut names: Vec<String> = Vec::new();
        for l in layers {
            if !names.iter().any(|n| n == l) {
                names.push(l.to_string());
            }
        }
        if names.is_empty() {
            return Err(Error::invalid("tiling", "no loss layer to tile"));
        }
        if core == 0 {
            return Err(Error::invalid("tile", "0 (a tile must hold at least one position per axis)"));
        }
        let index: Vec<usize> = names.iter().map(|n| net.index_of(n)).collect::<Result<_>>()?;
        let depth = index.iter().copied().max().unwrap_or(0);
        let rfs = names.iter().map(|n| receptive_field_at(net, n, spatial)).collect::<Result<Vec<_>>>()?;
        let mut axes = Vec::with_capacity(N);
        let mut global = vec![[0; N]; names.len()];
        for d in 0..N {
            let chain = axis_chain(net, depth, d);
            let trace = trace(&chain, spatial[d])?;
            let fields: Vec<Field> = index
                .iter()
                .zip(&rfs)
                .map(|(&i, rf)| Field {
                    layer: i,
                    start: rf.start[d],
                    size: rf.size[d],
                    jump: rf.stride[d],
                    out: trace[i].0,
                })
                .collect();
            for (g, f) in global.iter_mut().zip(&fields) {
                g[d] = f.out;
            }
            axes.push(axis_tiles(&chain, &trace, &fields, spatial[d], core)?);
        }
        Ok(Plan { layers: names, global, spatial, axes })
    }

    /// The loss layers, deduplicated, in the order [`Tile::kept`] follows.
    pub fn layers(&self) -> &[String] {
        &self.layers
    }
    /// Position of loss layer `name` in [`Plan::layers`].
    pub fn layer(&self, name: &str) -> Result<usize> {
        self.layers
            .iter()
            .position(|l| l == name)
            .ok_or_else(|| Error::invalid("tiling", format!("layer '{name}' is not in the plan")))
    }
    /// The global spatial size of loss layer `i`.
    pub fn layer_spatial(&self, i: usize) -> [usize; N] {
        self.global[i]
    }
    /// Number of tiles.
    pub fn len(&self) -> usize {
        self.axes.iter().map(|a| a.len()).product()
    }
    /// Whether there are no tiles (never, for a valid plan).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Tile `t` (row-major over the axes).
    pub fn tile(&self, t: usize) -> Tile<N> {
        let counts: [usize; N] = std::array::from_fn(|d| self.axes[d].len());
        let at = unravel(t, &counts);
        let pick = |d: usize| &self.axes[d][at[d]];
        let kept = (0..self.layers.len())
            .map(|l| {
                let k = |d: usize| pick(d).kept[l];
                Kept {
                    global: std::array::from_fn(|d| k(d).0),
                    local: std::array::from_fn(|d| k(d).0 - k(d).2),
                    size: std::array::from_fn(|d| k(d).1 - k(d).0),
                }
            })
            .collect();
        Tile { lo: std::array::from_fn(|d| pick(d).lo), hi: std::array::from_fn(|d| pick(d).hi), kept }
    }
    /// Every tile, in order.
    pub fn tiles(&self) -> impl Iterator<Item = Tile<N>> + '_ {
        (0..self.len()).map(|t| self.tile(t))
    }
    /// The largest input box a tile reads (per axis).
    pub fn max_tile(&self) -> [usize; N] {
        std::array::from_fn(|d| self.axes[d].iter().map(|a| a.hi - a.lo).max().unwrap_or(0))
    }
    /// Input positions read by all tiles over input positions: the halo overhead of one pass.
    pub fn overhead(&self) -> f64 {
        let read: f64 =
            self.axes.iter().map(|a| a.iter().map(|t| (t.hi - t.lo) as f64).sum::<f64>()).product();
        read / self.spatial.iter().map(|&s| s as f64).product::<f64>().max(1.0)
    }
}

/// A loss layer's receptive field and output size along one axis.
struct Field {
    layer: usize,
    start: isize,
    size: usize,
    jump: usize,
    out: usize,
}

/// Each layer's windows (several for a bank) reduced to axis `d`; none for element-wise layers.
fn axis_chain<const N: usize>(net: &Network<N>, depth: usize, d: usize) -> Vec<Vec<Window<1>>> {
    let axis = |w: &Window<N>| Window {
        kernel: [w.kernel[d]],
        stride: [w.stride[d]],
        dilation: [w.dilation[d]],
        padding: match w.padding {
            Padding::Explicit { lo, hi } => Padding::Explicit { lo: [lo[d]], hi: [hi[d]] },
            Padding::Same => Padding::Same,
        },
    };
    net.layers()[..=depth]
        .iter()
        .map(|l| match &l.op {
            Op::Conv(c) => vec![axis(&c.window)],
            Op::Bank(convs) => convs.iter().map(|c| axis(&c.window)).collect(),
            Op::MaxPool(w) | Op::AvgPool(w) => vec![axis(w)],
            Op::Relu | Op::ChannelAffine { .. } => Vec::new(),
        })
        .collect()
}

/// Per layer: its output size and the padding before the axis of each of its windows, for an
/// input of `n` positions.
fn trace(chain: &[Vec<Window<1>>], n: usize) -> Result<Vec<(usize, Vec<usize>)>> {
    let mut size = n;
    let mut out = Vec::with_capacity(chain.len());
    for ws in chain {
        let mut los = Vec::with_capacity(ws.len());
        let mut next = None;
        for w in ws {
            let g = w.resolve([size])?;
            if next.is_some_and(|s| s != g.output[0]) {
                return Err(Error::invalid("tiling", "a filter bank's branches have different output sizes"));
            }
            next = Some(g.output[0]);
            los.push(g.lo[0]);
        }
        size = next.unwrap_or(size);
        out.push((size, los));
    }
    Ok(out)
}

/// The tiles along one axis of `n` positions with cores of `core` (rounded up to the total stride).
fn axis_tiles(
    chain: &[Vec<Window<1>>],
    global: &[(usize, Vec<usize>)],
    fields: &[Field],
    n: usize,
    core: usize,
) -> Result<Vec<AxisTile>> {
    let total: usize = chain.iter().filter_map(|ws| ws.first()).map(|w| w.stride[0]).product();
    let core = core.div_ceil(total).max(1) * total;
    let mut tiles = Vec::new();
    let mut a = 0;
    while a < n {
        let b = a + core;
        let last = b >= n;
        let owned: Vec<(usize, usize)> = fields
            .iter()
            .map(|f| {
                let k0 = (a / f.jump).min(f.out);
                let k1 = if last { f.out } else { (b / f.jump).min(f.out) };
                (k0, k1)
            })
            .collect();
        a = b;
        if owned.iter().all(|(k0, k1)| k0 == k1) {
            continue;
        }
        let reads = fields.iter().zip(&owned).filter(|(_, (k0, k1))| k1 > k0);
        let lo = reads.clone().map(|(f, (k0, _))| f.start + (k0 * f.jump) as isize).min().unwrap_or(0);
        let hi = reads.map(|(f, (_, k1))| f.start + ((k1 - 1) * f.jump + f.size) as isize).max().unwrap_or(0);
        let mut lo = (lo.max(0) as usize) / total * total;
        let mut hi = (hi.max(0) as usize).clamp(lo + 1, n);
        // Widen until every window pads as in the whole input and owns what it should.
        loop {
            if exact(chain, global, fields, &owned, lo, hi) {
                break;
            }
            if hi < n {
                hi += 1;
            } else if lo > 0 {
                lo -= total;
            } else {
                return Err(Error::invalid(
                    "tiling",
                    format!(
                        "no exact tile of this network covers positions {}..{} of {n}",
                        a - core,
                        a.min(n)
                    ),
                ));
            }
        }
        let kept = fields.iter().zip(owned).map(|(f, (k0, k1))| (k0, k1, lo / f.jump)).collect();
        tiles.push(AxisTile { lo, hi, kept });
    }
    Ok(tiles)
}

/// Whether a forward pass over input positions `lo..hi` pads every window as the whole input
/// does, and its grid holds every owned position.
fn exact(
    chain: &[Vec<Window<1>>],
    global: &[(usize, Vec<usize>)],
    fields: &[Field],
    owned: &[(usize, usize)],
    lo: usize,
    hi: usize,
) -> bool {
    let Ok(t) = trace(chain, hi - lo) else { return false };
    let same_padding = t.iter().zip(global).all(|((_, a), (_, b))| a == b);
    same_padding
        && fields.iter().zip(owned).all(|(f, &(k0, k1))| k0 == k1 || k1 - lo / f.jump <= t[f.layer].0)
}
