//! N-D convolution (cross-correlation, as PyTorch's convNd) by tiled im2col + SGEMM, with its gradients.
//!
//! Wide 1D stride-1 layers skip the unfold and run one product per tap on shifted views instead
//! ([`super::conv_shift`], off by default); stride-1 layers with enough channels run Winograd
//! ([`super::winograd`]): 3-tap ones in 2D and 3D, and 1D ones of any width from 3.
//!
//! Positions are processed in tiles whose unfolded buffer is at most [`UNFOLD_BYTES`] per thread,
//! whatever the input size. Tiles run in parallel on rayon's pool, each product single-threaded;
//! when there are too few tiles to keep every thread busy, tiles run in turn and each product
//! uses the pool instead. Either way there is exactly one level of parallelism.

use rayon::prelude::*;

use super::conv_shift;
use super::gemm::{matmul, matmul_raw, MatMut, MatRef, Threads};
use super::geometry::{Geometry, Window};
use super::prepared::{Derived, Prepared};
use super::unfold::{fold_add, runs, unfold_forward, unfold_transposed};
use super::winograd;
use super::Tensor;
use crate::error::{Error, Result};
use crate::profile::{timed, Phase};

/// Upper bound of one thread's unfolded (im2col) buffer, in bytes.
pub const UNFOLD_BYTES: usize = 1024 << 10;
/// Fewest positions in a tile, even when one position's column exceeds the byte budget.
const MIN_TILE: usize = 256;
/// Input channels below which the input gradient of a 2D or 3D layer is a fold (see
/// `fold_backward`), not a gather. In 1D it stays a gather: with the fold, the test comparing a
/// signal's result with and without an offset (`tests/working.rs`) saw its two 20-iteration runs
/// differ by 4 on a swing of 20 instead of under 1, a rounding difference the optimiser amplified.
const FEW_CHANNELS: usize = 16;

/// The gradients of a convolution with respect to all of its arguments.
#[derive(Clone, Debug)]
pub struct ConvGrads<const N: usize> {
    /// `∂L/∂x`, shaped like the input.
    pub input: Tensor<N>,
    /// `∂L/∂w`, shaped like the weight.
    pub weight: Tensor<N>,
    /// `∂L/∂b`, one value per output channel.
    pub bias: Vec<f32>,
}

/// Convolution forward: `y[b, co, o] = bias[co] + Σ_{ci, k} w[co, ci, k] · x[b, ci, o·s + k·d − lo]`.
///
/// # Shapes
/// `x: B × Ci × S…`, `w: Co × Ci × K…` (a `Tensor<N>` whose batch is `Co` and spatial is the kernel,
/// which must equal `window.kernel`), `bias: Co`, result `B × Co × O…` with `O` from the window.
pub fn conv_forward<const N: usize>(
    x: &Tensor<N>,
    w: &Tensor<N>,
    bias: Option<&[f32]>,
    window: &Window<N>,
) -> Result<Tensor<N>> {
    conv_forward_with(x, w, bias, window, &Prepared::default())
}

/// [`conv_forward`] with the weights' derived forms taken from (and kept in) `prep`, which must
/// belong to `w` (see [`Prepared`]).
pub fn conv_forward_with<const N: usize>(
    x: &Tensor<N>,
    w: &Tensor<N>,
    bias: Option<&[f32]>,
    window: &Window<N>,
    prep: &Prepared,
) -> Result<Tensor<N>> {
    timed(Phase::Conv, || {
        let g = check("conv_forward", x.channels(), x.spatial(), w, bias, window)?;
        let mut y = Tensor::per_channel(x.batch(), w.batch(), g.output, |c| bias.map_or(0.0, |b| b[c]));
        forward_into(x, w, &g, &mut y, 0, prep);
        Ok(y)
    })
}

/// A bank of convolutions of one input, their outputs stacked along channels in order, each
/// written straight into its channels of the result (no per-branch tensors, no concatenation).
///
/// # Shapes
/// `x: B × Ci × S…`; branch `i` has `w_i: Co_i × Ci × K_i…` and must give the same output size;
/// result `B × ΣCo_i × O…`.
pub fn conv_bank_forward<const N: usize>(
    x: &Tensor<N>,
    bank: &[(&Tensor<N>, &[f32], &Window<N>)],
) -> Result<Tensor<N>> {
    conv_bank_forward_with(x, bank, &fresh(bank.len()))
}

/// [`conv_bank_forward`] with each branch's derived weights in `preps` (one per branch).
pub fn conv_bank_forward_with<const N: usize>(
    x: &Tensor<N>,
    bank: &[(&Tensor<N>, &[f32], &Window<N>)],
    preps: &[Prepared],
) -> Result<Tensor<N>> {
    timed(Phase::Conv, || {
        let geoms = bank_geometries(
            "conv_bank_forward",
            x.channels(),
            x.spatial(),
            bank.iter().map(|(w, _, win)| (*w, *win)),
        )?;
        let total: usize = bank.iter().map(|(w, _, _)| w.batch()).sum();
        let biases: Vec<f32> = bank.iter().flat_map(|(_, bias, _)| bias.iter().copied()).collect();
        let mut y = Tensor::per_channel(x.batch(), total, geoms[0].output, |c| biases[c]);
        let mut offset = 0;
        for (((w, _, _), g), prep) in bank.iter().zip(&geoms).zip(preps) {
            forward_into(x, w, g, &mut y, offset, prep);
            offset += w.batch();
        }
        Ok(y)
    })
}

/// The input gradient of [`conv_bank_forward`]: each branch's channels of `dy` back through its
/// kernel, summed into one gradient.
pub fn conv_bank_backward_input<const N: usize>(
    dy: &Tensor<N>,
    bank: &[(&Tensor<N>, &Window<N>)],
    input: [usize; N],
) -> Result<Tensor<N>> {
    conv_bank_backward_input_with(dy, bank, input, &fresh(bank.len()))
}

/// [`conv_bank_backward_input`] with each branch's derived weights in `preps` (one per branch).
pub fn conv_bank_backward_input_with<const N: usize>(
    dy: &Tensor<N>,
    bank: &[(&Tensor<N>, &Window<N>)],
    input: [usize; N],
    preps: &[Prepared],
) -> Result<Tensor<N>> {
    timed(Phase::Conv, || {
        let ci = bank.first().map_or(0, |(w, _)| w.channels());
        let geoms = bank_geometries("conv_bank_backward_input", ci, input, bank.iter().copied())?;
        let total: usize = bank.iter().map(|(w, _)| w.batch()).sum();
        if dy.channels() != total || dy.spatial() != geoms[0].output {
            return Err(Error::shape(
                "conv_bank_backward_input",
                format!(
                    "output gradient {} does not match {total} channels × {:?}",
                    dy.shape_string(),
                    geoms[0].output
                ),
            ));
        }
        // dx starts at zero, so every branch adds into it (no second clearing pass).
        let mut dx = Tensor::zeros(dy.batch(), ci, input);
        let mut offset = 0;
        for (((w, _), g), prep) in bank.iter().zip(&geoms).zip(preps) {
            backward_into(dy, offset, w, g, &mut dx, true, prep);
            offset += w.batch();
        }
        Ok(dx)
    })
}

/// `n` empty [`Prepared`]s, one per branch (not clones of one: clones share their contents).
fn fresh(n: usize) -> Vec<Prepared> {
    (0..n).map(|_| Prepared::default()).collect()
}

/// Check a bank's branches against the input and each other; their resolved geometries.
fn bank_geometries<'a, const N: usize>(
    op: &'static str,
    channels: usize,
    input: [usize; N],
    bank: impl Iterator<Item = (&'a Tensor<N>, &'a Window<N>)>,
) -> Result<Vec<Geometry<N>>> {
    let geoms = bank.map(|(w, win)| check(op, channels, input, w, None, win)).collect::<Result<Vec<_>>>()?;
    let first =
        geoms.first().ok_or_else(|| Error::invalid("filter bank", "needs at least one convolution"))?;
    if let Some(g) = geoms.iter().find(|g| g.output != first.output) {
        return Err(Error::shape(
            op,
            format!("branch outputs {:?} and {:?} differ; use 'same' padding", first.output, g.output),
        ));
    }
    Ok(geoms)
}

/// Add `conv(x, w)` into channels `offset..offset + Co` of `y` (which holds the bias already).
fn forward_into<const N: usize>(
    x: &Tensor<N>,
    w: &Tensor<N>,
    g: &Geometry<N>,
    y: &mut Tensor<N>,
    offset: usize,
    prep: &Prepared,
) {
    let (co, ci, rows) = (w.batch(), w.channels(), w.channels() * g.taps());
    let pout = g.out_positions();
    let total = y.channels();
    if super::kernels::current().shift && conv_shift::applies(g, ci, co) {
        return conv_shift::forward_into(x, w, g, y, offset);
    }
    if super::kernels::current().winograd && winograd::applies(g, ci, co) {
        return winograd::forward_into(x, w, g, y, offset, prep);
    }
    let wm = MatRef::row_major(w.data(), co, rows);
    let out = SendPtr(y.data_mut().as_mut_ptr());
    for_tiles(x.batch(), rows, pout, |b, p0, p1, col, threads| {
        let n = p1 - p0;
        unfold_forward(x.item(b), ci, g, &runs(&g.output, p0, p1), n, col);
        // SAFETY: this tile owns columns p0..p1 of channels offset..offset+co of item b, inside `y`.
        unsafe {
            let c = out.get().add((b * total + offset) * pout + p0);
            matmul_raw(c, co, n, pout, 1, wm, MatRef::row_major(col, rows, n), true, threads);
        }
    });
}

/// Gradient of the loss with respect to the input only (weights frozen, as in style transfer).
///
/// Computed as a gather, `dx[ci, i] = Σ_{co, k} w[co, ci, k] · dy[co, o(i, k)]`, so tiles of input
/// positions are independent and run in parallel without write conflicts.
///
/// # Shapes
/// `dy: B × Co × O…`, `w: Co × Ci × K…`, result `B × Ci × input…`.
pub fn conv_backward_input<const N: usize>(
    dy: &Tensor<N>,
    w: &Tensor<N>,
    window: &Window<N>,
    input: [usize; N],
) -> Result<Tensor<N>> {
    conv_backward_input_with(dy, w, window, input, &Prepared::default())
}

/// [`conv_backward_input`] with the weights' derived forms taken from (and kept in) `prep`, which
/// must belong to `w` (see [`Prepared`]).
pub fn conv_backward_input_with<const N: usize>(
    dy: &Tensor<N>,
    w: &Tensor<N>,
    window: &Window<N>,
    input: [usize; N],
    prep: &Prepared,
) -> Result<Tensor<N>> {
    timed(Phase::Conv, || {
        let g = check("conv_backward_input", w.channels(), input, w, None, window)?;
        check_output("conv_backward_input", dy, w, &g)?;
        // dx starts at zero, so the kernels add into it (no second clearing pass).
        let mut dx = Tensor::zeros(dy.batch(), w.channels(), input);
        backward_into(dy, 0, w, &g, &mut dx, true, prep);
        Ok(dx)
    })
}

/// `dx (+)= conv_backward_input(dy[channels offset..offset + Co], w)`.
fn backward_into<const N: usize>(
    dy: &Tensor<N>,
    offset: usize,
    w: &Tensor<N>,
    g: &Geometry<N>,
    dx: &mut Tensor<N>,
    accumulate: bool,
    prep: &Prepared,
) {
    let (co, ci, taps) = (w.batch(), w.channels(), g.taps());
    if super::kernels::current().shift && conv_shift::applies(g, ci, co) {
        return conv_shift::backward_into(dy, offset, w, g, dx, accumulate);
    }
    if super::kernels::current().winograd && winograd::applies(g, ci, co) {
        return winograd::backward_into(dy, offset, w, g, dx, accumulate, prep);
    }
    if N >= 2 && ci < FEW_CHANNELS {
        return fold_backward(dy, offset, w, g, dx, accumulate);
    }
    let rows = co * taps;
    let wt = prep.get(Derived::Transposed, || {
        // wt[ci, co·taps + k] = w[co, ci, k]
        let mut wt = vec![0.0; ci * rows];
        for (o, block) in w.data().chunks_exact(ci * taps).enumerate() {
            for (i, kernel) in block.chunks_exact(taps).enumerate() {
                wt[i * rows + o * taps..i * rows + (o + 1) * taps].copy_from_slice(kernel);
            }
        }
        wt
    });
    let wm = MatRef::row_major(wt, ci, rows);
    let (pin, pout) = (g.in_positions(), g.out_positions());
    let out = SendPtr(dx.data_mut().as_mut_ptr());
    for_tiles(dy.batch(), rows, pin, |b, p0, p1, col, threads| {
        let n = p1 - p0;
        let src = &dy.item(b)[offset * pout..(offset + co) * pout];
        unfold_transposed(src, co, g, &runs(&g.input, p0, p1), n, col);
        // SAFETY: this tile owns columns p0..p1 of item b's Ci × P_in gradient, inside `dx`.
        unsafe {
            let c = out.get().add(b * ci * pin + p0);
            matmul_raw(c, ci, n, pin, 1, wm, MatRef::row_major(col, rows, n), accumulate, threads);
        }
    });
}

/// The input gradient of a layer with few input channels (an image's or a volume's first layer):
/// per tile of output positions `col = Wᵀ·dy` (`(Ci·taps) × t`), folded back onto the input. The
/// gather form would unfold `Co·taps` rows per input position (1728 for VGG's first layer in
/// 3D) to produce a few channels; this writes `Ci·taps` (81). Tiles run in turn, each product on
/// the pool, since neighbouring tiles fold onto overlapping input positions.
fn fold_backward<const N: usize>(
    dy: &Tensor<N>,
    offset: usize,
    w: &Tensor<N>,
    g: &Geometry<N>,
    dx: &mut Tensor<N>,
    accumulate: bool,
) {
    let (co, ci, taps) = (w.batch(), w.channels(), g.taps());
    let rows = ci * taps;
    let wt = MatRef::row_major(w.data(), co, rows).t();
    let pout = g.out_positions();
    let tile = tile_len(rows, pout);
    let mut col = Vec::new();
    for b in 0..dy.batch() {
        if !accumulate {
            dx.item_mut(b).fill(0.0);
        }
        for p0 in (0..pout).step_by(tile) {
            let p1 = (p0 + tile).min(pout);
            let n = p1 - p0;
            col.resize(rows * n, 0.0);
            let dyt = MatRef::strided(&dy.item(b)[offset * pout + p0..], co, n, pout, 1);
            matmul(MatMut::row_major(&mut col, rows, n), wt, dyt, false, Threads::Pool);
            fold_add(&col, ci, g, &runs(&g.output, p0, p1), n, dx.item_mut(b));
        }
    }
}

/// Gradients with respect to the weight and the bias (needed only when a network is trained).
///
/// # Shapes
/// `x: B × Ci × S…`, `dy: B × Co × O…`; results `Co × Ci × K…` and `Co`.
pub fn conv_backward_weight<const N: usize>(
    x: &Tensor<N>,
    dy: &Tensor<N>,
    w_shape: (usize, usize),
    window: &Window<N>,
) -> Result<(Tensor<N>, Vec<f32>)> {
    let (co, ci) = w_shape;
    let probe = Tensor::zeros(co, ci, window.kernel);
    let g = check("conv_backward_weight", x.channels(), x.spatial(), &probe, None, window)?;
    check_output("conv_backward_weight", dy, &probe, &g)?;
    let rows = ci * g.taps();
    let pout = g.out_positions();
    let tile = tile_len(rows, pout);
    let tiles = pout.div_ceil(tile);
    let jobs = x.batch() * tiles;
    let dw = (0..jobs)
        .into_par_iter()
        .with_min_len(jobs.div_ceil(2 * rayon::current_num_threads()).max(1))
        .fold(
            || (vec![0.0f32; co * rows], Vec::new()),
            |(mut acc, mut col), job| {
                let (b, p0) = (job / tiles, (job % tiles) * tile);
                let p1 = (p0 + tile).min(pout);
                let n = p1 - p0;
                col.resize(rows * n, 0.0);
                unfold_forward(x.item(b), ci, &g, &runs(&g.output, p0, p1), n, &mut col);
                let dyt = MatRef::strided(&dy.item(b)[p0..], co, n, pout, 1);
                // SAFETY: `acc` is this fold's own Co × rows buffer.
                unsafe {
                    let colt = MatRef::row_major(&col, rows, n).t();
                    matmul_raw(acc.as_mut_ptr(), co, rows, rows, 1, dyt, colt, true, Threads::One);
                }
                (acc, col)
            },
        )
        .map(|(acc, _)| acc)
        .reduce(
            || vec![0.0f32; co * rows],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            },
        );
    let db = (0..co)
        .map(|c| {
            (0..dy.batch()).map(|b| dy.channel(b, c).iter().map(|&v| v as f64).sum::<f64>()).sum::<f64>()
                as f32
        })
        .collect();
    Ok((Tensor::from_vec(co, ci, window.kernel, dw)?, db))
}

/// All three gradients at once.
pub fn conv_backward<const N: usize>(
    x: &Tensor<N>,
    w: &Tensor<N>,
    dy: &Tensor<N>,
    window: &Window<N>,
) -> Result<ConvGrads<N>> {
    let input = conv_backward_input(dy, w, window, x.spatial())?;
    let (weight, bias) = conv_backward_weight(x, dy, (w.batch(), w.channels()), window)?;
    Ok(ConvGrads { input, weight, bias })
}

/// Number of floating-point operations of one forward pass (2 per multiply-add).
pub fn conv_flops<const N: usize>(
    batch: usize,
    ci: usize,
    co: usize,
    window: &Window<N>,
    input: [usize; N],
) -> Result<f64> {
    let g = window.resolve(input)?;
    Ok(2.0 * (batch * co * ci * g.taps()) as f64 * g.out_positions() as f64)
}

/// Positions per tile for a column of `rows` values.
fn tile_len(rows: usize, positions: usize) -> usize {
    (UNFOLD_BYTES / 4 / rows.max(1)).max(MIN_TILE).min(positions.max(1))
}

/// Run `work(batch item, p0, p1, unfold buffer, threads)` over every tile of every batch item,
/// choosing the one level of parallelism (across tiles, or inside each product).
fn for_tiles(
    batch: usize,
    rows: usize,
    positions: usize,
    work: impl Fn(usize, usize, usize, &mut [f32], Threads) + Sync,
) {
    let tile = tile_len(rows, positions);
    let tiles = positions.div_ceil(tile);
    let jobs = batch * tiles;
    let run = |col: &mut Vec<f32>, job: usize, threads| {
        let (b, p0) = (job / tiles, (job % tiles) * tile);
        let p1 = (p0 + tile).min(positions);
        col.resize(rows * (p1 - p0), 0.0);
        work(b, p0, p1, col, threads);
    };
    if jobs >= 2 * rayon::current_num_threads() {
        (0..jobs).into_par_iter().for_each_init(Vec::new, |col, job| run(col, job, Threads::One));
    } else {
        let mut col = Vec::new();
        (0..jobs).for_each(|job| run(&mut col, job, Threads::Pool));
    }
}

/// Validate shapes and resolve the window against the input's spatial size.
fn check<const N: usize>(
    op: &'static str,
    channels: usize,
    input: [usize; N],
    w: &Tensor<N>,
    bias: Option<&[f32]>,
    window: &Window<N>,
) -> Result<Geometry<N>> {
    if N == 0 {
        return Err(Error::shape(op, "spatial rank must be at least 1"));
    }
    if w.spatial() != window.kernel {
        return Err(Error::shape(
            op,
            format!(
                "weight {} has kernel {:?} but the window says {:?}",
                w.shape_string(),
                w.spatial(),
                window.kernel
            ),
        ));
    }
    if w.channels() != channels {
        return Err(Error::shape(
            op,
            format!("input has {channels} channels but weight {} expects {}", w.shape_string(), w.channels()),
        ));
    }
    if let Some(bias) = bias {
        if bias.len() != w.batch() {
            return Err(Error::shape(
                op,
                format!("bias has {} values for {} output channels", bias.len(), w.batch()),
            ));
        }
    }
    window.resolve(input)
}

/// Check that an output gradient has the shape the forward pass would produce.
fn check_output<const N: usize>(
    op: &'static str,
    dy: &Tensor<N>,
    w: &Tensor<N>,
    g: &Geometry<N>,
) -> Result<()> {
    if dy.channels() != w.batch() || dy.spatial() != g.output {
        return Err(Error::shape(
            op,
            format!(
                "output gradient {} does not match {} channels × {:?} positions",
                dy.shape_string(),
                w.batch(),
                g.output
            ),
        ));
    }
    Ok(())
}

/// A raw pointer that tiles share; each tile writes only its own disjoint elements.
#[derive(Clone, Copy)]
pub(super) struct SendPtr(pub(super) *mut f32);
// SAFETY: used only to write disjoint regions from different threads (see each use).
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}
impl SendPtr {
    pub(super) fn get(self) -> *mut f32 {
        self.0
    }
}
