//! Max and average pooling over N spatial axes (kernel, stride, padding, dilation), with backward passes.
//!
//! # Semantics
//! The window comes from [`Window<N>`]: kernel, stride, explicit or `Same` padding, and dilation,
//! resolved by [`Window::resolve`] (no ceil mode: every window lies within the padded input).
//!
//! * **Max pooling** (as PyTorch's `max_pool{1,2,3}d`): padded cells count as `-∞`, so padding
//!   never wins. Ties go to the first maximum in row-major kernel order; a NaN in a window wins
//!   (the first NaN) so that NaNs propagate. A window lying entirely in the padding is an error.
//!   The position of each maximum is recorded in [`MaxIndices`] for the backward pass.
//! * **Average pooling** (as PyTorch's `avg_pool{1,2,3}d`, `ceil_mode=false`): the sum of the
//!   in-bounds cells divided by the number of taps `K_1·…·K_N` when `count_include_pad` is true
//!   (PyTorch's default: padded cells count as zeros), or by the number of in-bounds cells when
//!   it is false (TensorFlow's `SAME` average pooling). With `count_include_pad = false` a window
//!   lying entirely in the padding is an error. PyTorch's average pooling has no dilation; here a
//!   dilated window averages its `K_1·…·K_N` dilated taps.
//!
//! Both passes parallelise over the `B·C` channel planes with rayon.

use rayon::prelude::*;

use super::geometry::{row_strides, unravel, Geometry, Window};
use super::Tensor;
use crate::error::{Error, Result};

/// The in-bounds taps of every output position along every axis, as offsets within one channel
/// plane of the input: `axes[d][o]` lists `i · stride_d` for the input coordinates `i` on axis `d`
/// read by output coordinate `o`. A window is the Cartesian product of its per-axis lists.
struct Taps<const N: usize> {
    geom: Geometry<N>,
    axes: [Vec<Vec<usize>>; N],
}

impl<const N: usize> Taps<N> {
    fn new(geom: Geometry<N>) -> Self {
        let plane_stride = row_strides(&geom.input);
        let axes = std::array::from_fn(|d| {
            (0..geom.output[d])
                .map(|o| {
                    (0..geom.kernel[d])
                        .filter_map(|k| {
                            let s = geom.source(d, o, k);
                            if s >= 0 && (s as usize) < geom.input[d] {
                                Some(s as usize * plane_stride[d])
                            } else {
                                None
                            }
                        })
                        .collect()
                })
                .collect()
        });
        Taps { geom, axes }
    }

    /// True when some output window holds no input cell at all.
    fn has_empty_window(&self) -> bool {
        self.axes.iter().any(|axis| axis.iter().any(Vec::is_empty))
    }

    /// The per-axis tap lists of output position `o` (a row-major flat index).
    #[inline]
    fn window(&self, o: usize) -> [&[usize]; N] {
        let idx = unravel(o, &self.geom.output);
        std::array::from_fn(|d| self.axes[d][idx[d]].as_slice())
    }

    /// Number of in-bounds cells of a window.
    #[inline]
    fn count(window: &[&[usize]; N]) -> usize {
        window.iter().map(|l| l.len()).product()
    }
}

/// Call `f` with the plane offset of every in-bounds cell of `window`, in row-major kernel order.
#[inline]
fn for_each_cell<const N: usize>(window: &[&[usize]; N], mut f: impl FnMut(usize)) {
    if window.iter().any(|l| l.is_empty()) {
        return;
    }
    let mut idx = [0usize; N];
    loop {
        f((0..N).map(|d| window[d][idx[d]]).sum());
        let mut d = N;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < window[d].len() {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// Resolve `window` against `input`, rejecting empty spatial axes.
fn resolve<const N: usize>(op: &'static str, window: &Window<N>, input: [usize; N]) -> Result<Geometry<N>> {
    if input.contains(&0) {
        return Err(Error::shape(op, format!("empty spatial extent {input:?}")));
    }
    window.resolve(input)
}

fn empty_window_error<const N: usize>(op: &'static str, g: &Geometry<N>) -> Error {
    Error::invalid(
        format!("{op} window"),
        format!(
            "some window lies entirely in the padding (input {:?}, kernel {:?}, stride {:?}, dilation {:?}, padding {:?} / {:?})",
            g.input, g.kernel, g.stride, g.dilation, g.lo, g.hi
        ),
    )
}

/// Where each maximum of [`max_pool`] came from: for every output value, the row-major offset of
/// the winning cell within its input channel plane (as PyTorch's `return_indices`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaxIndices {
    batch: usize,
    channels: usize,
    input: Vec<usize>,
    output: Vec<usize>,
    offsets: Vec<u32>,
}

impl MaxIndices {
    /// Batch size `B`.
    pub fn batch(&self) -> usize {
        self.batch
    }
    /// Channel count `C`.
    pub fn channels(&self) -> usize {
        self.channels
    }
    /// Spatial extent of the pooled input.
    pub fn input_spatial(&self) -> &[usize] {
        &self.input
    }
    /// Spatial extent of the pooled output.
    pub fn output_spatial(&self) -> &[usize] {
        &self.output
    }
    /// All offsets, `B × C × P_out` row-major; each indexes the input plane `S_1 × … × S_N`.
    pub fn offsets(&self) -> &[u32] {
        &self.offsets
    }
    /// The offsets of channel `c` of item `b` (`P_out` values).
    pub fn plane(&self, b: usize, c: usize) -> &[u32] {
        let p: usize = self.output.iter().product();
        let start = (b * self.channels + c) * p;
        &self.offsets[start..start + p]
    }
}

/// The running maximum of a window: the first maximum in kernel order wins ties, and the first
/// NaN wins over any number (so NaNs propagate).
struct Best {
    value: f32,
    at: usize,
    empty: bool,
}

impl Best {
    #[inline(always)]
    fn new() -> Self {
        Best { value: f32::NEG_INFINITY, at: 0, empty: true }
    }
    #[inline(always)]
    fn offer(&mut self, v: f32, at: usize) {
        if self.empty || v > self.value || (v.is_nan() && !self.value.is_nan()) {
            (self.value, self.at, self.empty) = (v, at, false);
        }
    }
}

/// Windows that tile the input (stride equal to the kernel, no padding, no dilation: VGG's 2×2
/// and 2×2×2 pooling): each output's cells are a fixed pattern of plane offsets from a base that
/// steps regularly, so no window is unravelled from its flat index (which took most of the time).
struct Tiling<const N: usize> {
    /// Plane offsets of the kernel's cells, in row-major kernel order.
    cells: Vec<usize>,
    /// Output extent.
    output: [usize; N],
    /// Input plane offset between neighbouring outputs along each axis.
    step: [usize; N],
}

impl<const N: usize> Tiling<N> {
    fn of(g: &Geometry<N>) -> Option<Self> {
        let tiles =
            (0..N).all(|d| g.stride[d] == g.kernel[d] && g.dilation[d] == 1 && g.lo[d] == 0 && g.hi[d] == 0);
        if !tiles {
            return None;
        }
        let plane = row_strides(&g.input);
        let taps: usize = g.kernel.iter().product();
        let cells =
            (0..taps).map(|t| unravel(t, &g.kernel).iter().zip(&plane).map(|(k, s)| k * s).sum()).collect();
        Some(Tiling { cells, output: g.output, step: std::array::from_fn(|d| g.kernel[d] * plane[d]) })
    }

    /// One channel plane: `y` and the winners' offsets `ix` from the input plane `x`.
    fn max_plane(&self, x: &[f32], y: &mut [f32], ix: &mut [u32]) {
        let last = self.output[N - 1];
        if last == 0 {
            return;
        }
        for (r, (yr, ir)) in y.chunks_exact_mut(last).zip(ix.chunks_exact_mut(last)).enumerate() {
            // The base offset of this row of outputs: its leading coordinates times their steps.
            let lead = unravel(r * last, &self.output);
            let row: usize = (0..N - 1).map(|d| lead[d] * self.step[d]).sum();
            for (o, (yo, io)) in yr.iter_mut().zip(ir.iter_mut()).enumerate() {
                let base = row + o * self.step[N - 1];
                let mut best = Best::new();
                self.cells.iter().for_each(|&c| best.offer(x[base + c], base + c));
                (*yo, *io) = (best.value, best.at as u32);
            }
        }
    }
}

/// Max pooling; returns the pooled tensor and the position of every maximum.
///
/// # Shapes
/// `x: B × C × S_1 × … × S_N` → `y: B × C × O_1 × … × O_N` with `O` from `window.resolve(S)`;
/// the indices hold `B·C·O_1·…·O_N` offsets into the input planes.
///
/// # Errors
/// An empty spatial axis, an invalid window, a window entirely in the padding, or a channel
/// plane of more than `u32::MAX` cells.
pub fn max_pool<const N: usize>(x: &Tensor<N>, window: &Window<N>) -> Result<(Tensor<N>, MaxIndices)> {
    const OP: &str = "max_pool";
    let g = resolve(OP, window, x.spatial())?;
    let (ip, op) = (g.in_positions(), g.out_positions());
    if ip > u32::MAX as usize {
        return Err(Error::shape(OP, format!("a channel plane of {ip} cells exceeds u32 indices")));
    }
    let taps = Taps::new(g);
    if taps.has_empty_window() {
        return Err(empty_window_error(OP, &g));
    }
    let mut y = Tensor::zeros(x.batch(), x.channels(), g.output);
    let mut offsets = vec![0u32; y.len()];
    let tiled = Tiling::of(&g);
    y.data_mut().par_chunks_mut(op).zip(offsets.par_chunks_mut(op)).zip(x.data().par_chunks(ip)).for_each(
        |((yp, ix), xp)| {
            if let Some(t) = &tiled {
                return t.max_plane(xp, yp, ix);
            }
            for (o, (yo, io)) in yp.iter_mut().zip(ix.iter_mut()).enumerate() {
                let w = taps.window(o);
                let mut best = Best::new();
                for_each_cell(&w, |off| best.offer(xp[off], off));
                (*yo, *io) = (best.value, best.at as u32);
            }
        },
    );
    let indices = MaxIndices {
        batch: x.batch(),
        channels: x.channels(),
        input: g.input.to_vec(),
        output: g.output.to_vec(),
        offsets,
    };
    Ok((y, indices))
}

/// The gradient of [`max_pool`] with respect to its input: each output gradient is added to the
/// cell that won its window (cells winning several overlapping windows receive the sum).
///
/// # Shapes
/// `dy: B × C × O_1 × … × O_N` (the pooled shape) → `dx: B × C × S_1 × … × S_N` with
/// `S = input_spatial`, the spatial extent of the pooled input.
///
/// # Errors
/// `dy` or `input_spatial` disagreeing with the shapes recorded in `indices`.
pub fn max_pool_backward<const N: usize>(
    dy: &Tensor<N>,
    indices: &MaxIndices,
    input_spatial: [usize; N],
) -> Result<Tensor<N>> {
    const OP: &str = "max_pool_backward";
    if dy.batch() != indices.batch
        || dy.channels() != indices.channels
        || dy.spatial()[..] != indices.output[..]
        || input_spatial[..] != indices.input[..]
    {
        return Err(Error::shape(
            OP,
            format!(
                "gradient {} with input {input_spatial:?}, but the indices are for {}×{}×{:?} pooled from {:?}",
                dy.shape_string(),
                indices.batch,
                indices.channels,
                indices.output,
                indices.input
            ),
        ));
    }
    let mut dx = Tensor::zeros(dy.batch(), dy.channels(), input_spatial);
    let (ip, op) = (dx.positions(), dy.positions());
    if dx.is_empty() {
        return Ok(dx);
    }
    dx.data_mut()
        .par_chunks_mut(ip)
        .zip(dy.data().par_chunks(op))
        .zip(indices.offsets.par_chunks(op))
        .for_each(|((dxp, dyp), ix)| {
            for (&g, &i) in dyp.iter().zip(ix) {
                dxp[i as usize] += g;
            }
        });
    Ok(dx)
}

/// Average pooling; see the module documentation for `count_include_pad`
/// (PyTorch's default is `true`).
///
/// # Shapes
/// `x: B × C × S_1 × … × S_N` → `y: B × C × O_1 × … × O_N` with `O` from `window.resolve(S)`.
///
/// # Errors
/// An empty spatial axis, an invalid window, or (with `count_include_pad = false`) a window
/// entirely in the padding.
pub fn avg_pool<const N: usize>(
    x: &Tensor<N>,
    window: &Window<N>,
    count_include_pad: bool,
) -> Result<Tensor<N>> {
    const OP: &str = "avg_pool";
    let g = resolve(OP, window, x.spatial())?;
    let taps = Taps::new(g);
    if !count_include_pad && taps.has_empty_window() {
        return Err(empty_window_error(OP, &g));
    }
    let (ip, op) = (g.in_positions(), g.out_positions());
    let mut y = Tensor::zeros(x.batch(), x.channels(), g.output);
    let full = g.taps();
    y.data_mut().par_chunks_mut(op).zip(x.data().par_chunks(ip)).for_each(|(yp, xp)| {
        for (o, yo) in yp.iter_mut().enumerate() {
            let w = taps.window(o);
            let mut sum = 0.0f32;
            for_each_cell(&w, |off| sum += xp[off]);
            let n = if count_include_pad { full } else { Taps::count(&w) };
            *yo = sum / n as f32;
        }
    });
    Ok(y)
}

/// The gradient of [`avg_pool`] with respect to its input: each output gradient, divided by its
/// window's divisor, is added to every in-bounds cell of the window.
///
/// # Shapes
/// `dy: B × C × O_1 × … × O_N` → `dx: B × C × S_1 × … × S_N` with `S = input_spatial` and
/// `O = window.resolve(S).output`.
///
/// # Errors
/// As [`avg_pool`], or `dy` not having the pooled shape of `input_spatial`.
pub fn avg_pool_backward<const N: usize>(
    dy: &Tensor<N>,
    window: &Window<N>,
    input_spatial: [usize; N],
    count_include_pad: bool,
) -> Result<Tensor<N>> {
    const OP: &str = "avg_pool_backward";
    let g = resolve(OP, window, input_spatial)?;
    if dy.spatial() != g.output {
        return Err(Error::shape(
            OP,
            format!("gradient {} but pooling {input_spatial:?} gives {:?}", dy.shape_string(), g.output),
        ));
    }
    let taps = Taps::new(g);
    if !count_include_pad && taps.has_empty_window() {
        return Err(empty_window_error(OP, &g));
    }
    let (ip, op) = (g.in_positions(), g.out_positions());
    let mut dx = Tensor::zeros(dy.batch(), dy.channels(), input_spatial);
    let full = g.taps();
    dx.data_mut().par_chunks_mut(ip).zip(dy.data().par_chunks(op)).for_each(|(dxp, dyp)| {
        for (o, &go) in dyp.iter().enumerate() {
            let w = taps.window(o);
            let n = if count_include_pad { full } else { Taps::count(&w) };
            let share = go / n as f32;
            for_each_cell(&w, |off| dxp[off] += share);
        }
    });
    Ok(dx)
}
