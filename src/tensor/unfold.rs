//! im2col / vol2col for one tile of positions, in the forward (gather from input) and transposed (gather from output) directions.

use super::geometry::{unravel, Geometry};

/// A run of consecutive flat positions that share every coordinate but the last.
pub(crate) struct Run<const N: usize> {
    /// Column of the run's first position within the tile.
    col: usize,
    /// Multi-index of the run's first position.
    idx: [usize; N],
    /// Number of positions in the run.
    len: usize,
}

/// Split the flat positions `p0..p1` of a grid of size `dims` into runs along the last axis.
pub(crate) fn runs<const N: usize>(dims: &[usize; N], p0: usize, p1: usize) -> Vec<Run<N>> {
    let last = dims[N - 1];
    let mut out = Vec::new();
    let mut p = p0;
    while p < p1 {
        let idx = unravel(p, dims);
        let len = (last - idx[N - 1]).min(p1 - p);
        out.push(Run { col: p - p0, idx, len });
        p += len;
    }
    out
}

/// Tap `kf` of a geometry as the forward unfold and its adjoint read it along runs of output
/// positions.
struct Tap<const N: usize> {
    k: [usize; N],
    /// Input coordinate on the last axis read by output coordinate 0 (`o·s + off` in general).
    off: isize,
    /// Output coordinates on the last axis whose input lies inside: `o_lo..o_hi`.
    o_lo: isize,
    o_hi: isize,
}

impl<const N: usize> Tap<N> {
    fn new(g: &Geometry<N>, kf: usize) -> Self {
        let last = N - 1;
        let (s, n_in) = (g.stride[last] as isize, g.input[last] as isize);
        let k = unravel(kf, &g.kernel);
        let off = (k[last] * g.dilation[last]) as isize - g.lo[last] as isize;
        let o_lo = if off >= 0 { 0 } else { (-off + s - 1) / s };
        let o_hi = if n_in - 1 - off < 0 { 0 } else { (n_in - 1 - off) / s + 1 };
        Tap { k, off, o_lo, o_hi }
    }

    /// The columns `ja..jb` of `run` whose input lies inside, and the input position of column
    /// `ja` (the next ones follow with the last axis's stride); `None` when the run's leading
    /// coordinates read padding, an empty `ja..jb` (starting at 0) when its last-axis ones all do.
    fn span(&self, g: &Geometry<N>, run: &Run<N>) -> Option<(usize, usize, usize)> {
        let last = N - 1;
        let base = prefix_offset(&g.input, &run.idx, &self.k, |d, o, k| {
            let i = g.source(d, o, k);
            (i >= 0 && i < g.input[d] as isize).then_some(i as usize)
        })?;
        let o0 = run.idx[last] as isize;
        let o_end = o0 + run.len as isize;
        let a = self.o_lo.clamp(o0, o_end);
        let b = self.o_hi.clamp(a, o_end);
        // An empty span starts at 0, so that slicing it never reaches past the channel.
        let start =
            if a < b { base * g.input[last] + (a * g.stride[last] as isize + self.off) as usize } else { 0 };
        Some(((a - o0) as usize, (b - o0) as usize, start))
    }
}

/// Forward unfold: `col[(ci·taps + k), j] = x[ci, source(j, k)]`, zero where the source is padding.
///
/// # Shapes
/// `src: Ci × P_in` (one batch item), `col: (Ci·taps) × t` where `t` is the tile's length and the
/// runs cover output positions.
pub(crate) fn unfold_forward<const N: usize>(
    src: &[f32],
    channels: usize,
    g: &Geometry<N>,
    runs: &[Run<N>],
    t: usize,
    col: &mut [f32],
) {
    let (taps, pin, s) = (g.taps(), g.in_positions(), g.stride[N - 1]);
    for kf in 0..taps {
        let tap = Tap::new(g, kf);
        for ci in 0..channels {
            let chan = &src[ci * pin..(ci + 1) * pin];
            let row = &mut col[(ci * taps + kf) * t..(ci * taps + kf + 1) * t];
            for run in runs {
                let dst = &mut row[run.col..run.col + run.len];
                let Some((ja, jb, start)) = tap.span(g, run) else {
                    dst.fill(0.0);
                    continue;
                };
                dst[..ja].fill(0.0);
                dst[jb..].fill(0.0);
                let mid = &mut dst[ja..jb];
                if s == 1 {
                    mid.copy_from_slice(&chan[start..start + mid.len()]);
                } else {
                    mid.iter_mut().enumerate().for_each(|(j, v)| *v = chan[start + j * s]);
                }
            }
        }
    }
}

/// The adjoint of [`unfold_forward`], added into `dst`: `x[ci, source(j, k)] += col[(ci·taps + k), j]`,
/// dropping what falls on the padding.
///
/// # Shapes
/// `col: (Ci·taps) × t`, the runs covering output positions; `dst: Ci × P_in` (one batch item).
pub(crate) fn fold_add<const N: usize>(
    col: &[f32],
    channels: usize,
    g: &Geometry<N>,
    runs: &[Run<N>],
    t: usize,
    dst: &mut [f32],
) {
    let (taps, pin, s) = (g.taps(), g.in_positions(), g.stride[N - 1]);
    for kf in 0..taps {
        let tap = Tap::new(g, kf);
        for ci in 0..channels {
            let chan = &mut dst[ci * pin..(ci + 1) * pin];
            let row = &col[(ci * taps + kf) * t..(ci * taps + kf + 1) * t];
            for run in runs {
                let Some((ja, jb, start)) = tap.span(g, run) else { continue };
                let src = &row[run.col + ja..run.col + jb];
                if s == 1 {
                    chan[start..start + src.len()].iter_mut().zip(src).for_each(|(x, &v)| *x += v);
                } else {
                    src.iter().enumerate().for_each(|(j, &v)| chan[start + j * s] += v);
                }
            }
        }
    }
}

/// Transposed unfold for the input gradient: `col[(co·taps + k), j] = dy[co, y]` where output
/// position `y` reads input position `j` through tap `k`, and zero where no output does.
///
/// # Shapes
/// `src: Co × P_out` (one batch item of the output gradient), `col: (Co·taps) × t`; the runs cover
/// input positions.
pub(crate) fn unfold_transposed<const N: usize>(
    src: &[f32],
    channels: usize,
    g: &Geometry<N>,
    runs: &[Run<N>],
    t: usize,
    col: &mut [f32],
) {
    let taps = g.taps();
    let pout = g.out_positions();
    let last = N - 1;
    let (s, n_out) = (g.stride[last] as isize, g.output[last] as isize);
    // Output coordinate on axis d reached from input coordinate x through tap k, if any.
    let target = |d: usize, x: usize, k: usize| {
        let t = x as isize + g.lo[d] as isize - (k * g.dilation[d]) as isize;
        let s = g.stride[d] as isize;
        (t >= 0 && t % s == 0 && t / s < g.output[d] as isize).then_some((t / s) as usize)
    };
    for kf in 0..taps {
        let k = unravel(kf, &g.kernel);
        let off = g.lo[last] as isize - (k[last] * g.dilation[last]) as isize;
        for co in 0..channels {
            let chan = &src[co * pout..(co + 1) * pout];
            let row = &mut col[(co * taps + kf) * t..(co * taps + kf + 1) * t];
            for run in runs {
                let dst = &mut row[run.col..run.col + run.len];
                let Some(base) = prefix_offset(&g.output, &run.idx, &k, target) else {
                    dst.fill(0.0);
                    continue;
                };
                let base = base * g.output[last];
                let x0 = run.idx[last] as isize;
                if s == 1 {
                    // y = x + off, valid for 0 <= y < n_out.
                    let x_end = x0 + run.len as isize;
                    let a = (-off).clamp(x0, x_end);
                    let b = (n_out - off).clamp(a, x_end);
                    let (ja, jb) = ((a - x0) as usize, (b - x0) as usize);
                    dst[..ja].fill(0.0);
                    dst[jb..].fill(0.0);
                    if ja == jb {
                        continue;
                    }
                    let start = base + (a + off) as usize;
                    dst[ja..jb].copy_from_slice(&chan[start..start + (jb - ja)]);
                } else {
                    for (j, v) in dst.iter_mut().enumerate() {
                        let y = x0 + j as isize + off;
                        *v = if y >= 0 && y % s == 0 && y / s < n_out {
                            chan[base + (y / s) as usize]
                        } else {
                            0.0
                        };
                    }
                }
            }
        }
    }
}

/// Row-major offset over `dims` of every axis but the last, each coordinate mapped from `idx` and
/// tap `k` by `map`; None if any maps outside.
#[inline]
fn prefix_offset<const N: usize>(
    dims: &[usize; N],
    idx: &[usize; N],
    k: &[usize; N],
    map: impl Fn(usize, usize, usize) -> Option<usize>,
) -> Option<usize> {
    let mut base = 0;
    for d in 0..N - 1 {
        base = base * dims[d] + map(d, idx[d], k[d])?;
    }
    Some(base)
}
