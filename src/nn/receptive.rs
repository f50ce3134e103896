//! Exact receptive fields (size, jump, offset per axis) of a unit at any layer, and its input box.

use crate::error::{Error, Result};
use crate::nn::{Network, Op};
use crate::tensor::{Padding, Window};

/// The receptive field of the units of one layer, in input coordinates, per axis.
///
/// Unit `o` (an output position of the layer) reads input coordinates
/// `start + o·stride … start + o·stride + size − 1`; coordinates outside `0..input` are padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RF<const N: usize> {
    /// Extent of the field.
    pub size: [usize; N],
    /// The jump: how far the field moves in the input when the unit moves by one.
    pub stride: [usize; N],
    /// The first input coordinate read by output 0 (negative when it lies in the padding).
    pub start: [isize; N],
}

/// An axis-aligned box of input coordinates `lo..hi` (half-open) per axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds<const N: usize> {
    pub lo: [isize; N],
    pub hi: [isize; N],
}

impl<const N: usize> Bounds<N> {
    /// Extent per axis.
    pub fn size(&self) -> [usize; N] {
        std::array::from_fn(|d| (self.hi[d] - self.lo[d]).max(0) as usize)
    }
    /// Whether coordinate `x` lies inside.
    pub fn contains(&self, x: [isize; N]) -> bool {
        (0..N).all(|d| self.lo[d] <= x[d] && x[d] < self.hi[d])
    }
}

/// Where a unit looks: its full field, and the part of it inside the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnitBox<const N: usize> {
    /// The whole receptive field (may reach into the padding).
    pub unclipped: Bounds<N>,
    /// The field clipped to `0..input` on every axis (empty on an axis where it misses the input).
    pub clipped: Bounds<N>,
}

impl<const N: usize> RF<N> {
    /// The field of the input itself: one coordinate, jump 1.
    pub fn identity() -> Self {
        RF { size: [1; N], stride: [1; N], start: [0; N] }
    }

    /// The input box of the unit at output position `o`, for an input of spatial size `input`.
    pub fn unit_box(&self, o: [usize; N], input: [usize; N]) -> UnitBox<N> {
        let lo: [isize; N] = std::array::from_fn(|d| self.start[d] + (o[d] * self.stride[d]) as isize);
        let hi: [isize; N] = std::array::from_fn(|d| lo[d] + self.size[d] as isize);
        let clo = std::array::from_fn(|d| lo[d].clamp(0, input[d] as isize));
        let chi = std::array::from_fn(|d| hi[d].clamp(0, input[d] as isize));
        UnitBox { unclipped: Bounds { lo, hi }, clipped: Bounds { lo: clo, hi: chi } }
    }

    /// Compose with one more sliding window whose padding before each axis is `lo`.
    fn then(&self, kernel: [usize; N], stride: [usize; N], dilation: [usize; N], lo: [usize; N]) -> Self {
        RF {
            size: std::array::from_fn(|d| self.size[d] + dilation[d] * (kernel[d] - 1) * self.stride[d]),
            stride: std::array::from_fn(|d| self.stride[d] * stride[d]),
            start: std::array::from_fn(|d| self.start[d] - (lo[d] * self.stride[d]) as isize),
        }
    }
}

/// The receptive field of the units of layer `layer` (inclusive of that layer).
///
/// "Same" padding depends on the size of each layer's input when the stride exceeds 1; here it
/// is resolved as if every layer's input were a multiple of its stride (the padding before an axis
/// is then `(span − stride) / 2`). Use [`receptive_field_at`] for the exact field at a given input
/// size; the two agree whenever all padding is explicit or every stride is 1.
pub fn receptive_field<const N: usize>(net: &Network<N>, layer: &str) -> Result<RF<N>> {
    walk(net, layer, None)
}

/// The exact receptive field of layer `layer` for an input of spatial size `input`.
pub fn receptive_field_at<const N: usize>(net: &Network<N>, layer: &str, input: [usize; N]) -> Result<RF<N>> {
    walk(net, layer, Some(input))
}

/// One window's padding before each axis, for an input of size `input` if known.
fn pad_lo<const N: usize>(w: &Window<N>, input: Option<[usize; N]>) -> Result<[usize; N]> {
    match (w.padding, input) {
        (Padding::Explicit { lo, .. }, _) => Ok(lo),
        (Padding::Same, Some(s)) => Ok(w.resolve(s)?.lo),
        (Padding::Same, None) => Ok(std::array::from_fn(|d| {
            let span = w.dilation[d] * (w.kernel[d] - 1) + 1;
            span.saturating_sub(w.stride[d]) / 2
        })),
    }
}

fn walk<const N: usize>(net: &Network<N>, layer: &str, input: Option<[usize; N]>) -> Result<RF<N>> {
    let last = net.index_of(layer)?;
    let mut rf = RF::identity();
    let mut size = input;
    for l in &net.layers()[..=last] {
        let windows: Vec<&Window<N>> = match &l.op {
            Op::Conv(c) => vec![&c.window],
            Op::Bank(convs) => convs.iter().map(|c| &c.window).collect(),
            Op::MaxPool(w) | Op::AvgPool(w) => vec![w],
            Op::Relu | Op::ChannelAffine { .. } => continue,
        };
        // A bank's branches all read the same input: its field is the union of theirs (the
        // largest kernel's, when they are centred). Their outputs have equal sizes, so equal strides.
        let mut union: Option<(RF<N>, [isize; N])> = None;
        for w in &windows {
            if w.kernel.contains(&0) || w.stride.contains(&0) || w.dilation.contains(&0) {
                return Err(Error::invalid(
                    "window",
                    format!("layer '{}' has a zero kernel, stride or dilation", l.name),
                ));
            }
            let lo = pad_lo(w, size)?;
            let r = rf.then(w.kernel, w.stride, w.dilation, lo);
            let end: [isize; N] = std::array::from_fn(|d| r.start[d] + r.size[d] as isize);
            union = Some(match union {
                None => (r, end),
                Some((u, uend)) => {
                    if u.stride != r.stride {
                        return Err(Error::invalid(
                            "filter bank",
                            format!("layer '{}': branches with different strides", l.name),
                        ));
                    }
                    let start = std::array::from_fn(|d| u.start[d].min(r.start[d]));
                    let end: [isize; N] = std::array::from_fn(|d| uend[d].max(end[d]));
                    let size = std::array::from_fn(|d| (end[d] - start[d]) as usize);
                    (RF { size, stride: u.stride, start }, end)
                }
            });
        }
        if let Some(s) = size {
            size = Some(windows[0].resolve(s)?.output);
        }
        rf = union.map(|(r, _)| r).unwrap_or(rf);
    }
    Ok(rf)
}
