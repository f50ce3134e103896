//! Winograd F(2, 3) convolution in any rank (Lavin & Gray 2016): 3-tap kernels, stride 1, no dilation.
//!
//! Each output tile of 2^N positions is computed from a 4^N input tile with 4^N products per
//! channel pair instead of 2^N·3^N: 2.25 times fewer multiplications in 2D, 3.4 in 3D. Transforms
//! are separable, applied axis by axis, so one code serves every rank. Tiles are processed in
//! chunks; per chunk, the 4^N element-wise products become 4^N small matrix products
//! `M_ξ = U_ξ · V_ξ` (`Co × Ci` by `Ci × tiles`), on the same SGEMM as the im2col path.

use rayon::prelude::*;

use super::gemm::{matmul, MatMut, MatRef, Threads};
use super::geometry::{unravel, Geometry};
use super::Tensor;

/// `G` (4 × 3): kernel transform.
const G: [f32; 12] = [1.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0.0, 0.0, 1.0];
/// `Bᵀ` (4 × 4): input transform.
const BT: [f32; 16] = [1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 1.0, 0.0, -1.0];
/// `Aᵀ` (2 × 4): output transform.
const AT: [f32; 8] = [1.0, 1.0, 1.0, 0.0, 0.0, 1.0, -1.0, -1.0];

/// Upper bound of one chunk's transformed input, in bytes.
const CHUNK_BYTES: usize = 1 << 20;

/// Whether the Winograd path computes this convolution (3-tap, stride 1, dilation 1, rank ≤ 3).
pub(crate) fn applies<const N: usize>(g: &Geometry<N>) -> bool {
    (1..=3).contains(&N)
        && g.kernel.iter().all(|&k| k == 3)
        && g.stride.iter().all(|&s| s == 1)
        && g.dilation.iter().all(|&d| d == 1)
}

/// The kernels transformed: `u[ξ·Co·Ci + co·Ci + ci] = (G g Gᵀ…)_ξ` for `w: Co × Ci × 3^N`.
pub(crate) fn transform_weights<const N: usize>(w: &Tensor<N>) -> Vec<f32> {
    let (co, ci) = (w.batch(), w.channels());
    let xi = 4usize.pow(N as u32);
    let mut u = vec![0.0; xi * co * ci];
    let mut t = [0.0f32; 64];
    for (pair, kernel) in w.data().chunks_exact(3usize.pow(N as u32)).enumerate() {
        separable::<N>(kernel, 3, 4, &G, &mut t);
        for (x, v) in t[..xi].iter().enumerate() {
            u[x * co * ci + pair] = *v;
        }
    }
    u
}

/// `y = conv(x, w) (+ bias)` with the transformed weights `u`; `y` is `B × Co × g.output`.
pub(crate) fn forward<const N: usize>(
    x: &Tensor<N>,
    u: &[f32],
    co: usize,
    bias: Option<&[f32]>,
    g: &Geometry<N>,
) -> Tensor<N> {
    let ci = x.channels();
    let xi = 4usize.pow(N as u32);
    let tiles_per: [usize; N] = g.output.map(|o| o.div_ceil(2));
    let tiles: usize = tiles_per.iter().product();
    let chunk = (CHUNK_BYTES / 4 / (xi * ci.max(co))).clamp(16, 1024).min(tiles);
    let chunks = tiles.div_ceil(chunk);
    let jobs = x.batch() * chunks;
    let pout = g.out_positions();
    let mut y = Tensor::zeros(x.batch(), co, g.output);
    let out = Ptr(y.data_mut().as_mut_ptr());
    let run = |bufs: &mut (Vec<f32>, Vec<f32>), job: usize, threads: Threads| {
        let (b, t0) = (job / chunks, (job % chunks) * chunk);
        let n = chunk.min(tiles - t0);
        let (v, m) = bufs;
        v.resize(xi * ci * n, 0.0);
        m.resize(xi * co * n, 0.0);
        gather_inputs(x.item(b), ci, g, &tiles_per, t0, n, v);
        for k in 0..xi {
            let uk = MatRef::row_major(&u[k * co * ci..(k + 1) * co * ci], co, ci);
            let vk = MatRef::row_major(&v[k * ci * n..(k + 1) * ci * n], ci, n);
            matmul(MatMut::row_major(&mut m[k * co * n..(k + 1) * co * n], co, n), uk, vk, false, threads);
        }
        // SAFETY: the tiles t0..t0+n of item b cover output positions no other job writes.
        unsafe { scatter_outputs(out.get().add(b * co * pout), co, g, &tiles_per, t0, n, m, bias) };
    };
    if jobs >= 2 * rayon::current_num_threads() {
        (0..jobs)
            .into_par_iter()
            .for_each_init(|| (Vec::new(), Vec::new()), |bufs, job| run(bufs, job, Threads::One));
    } else {
        let mut bufs = (Vec::new(), Vec::new());
        (0..jobs).for_each(|job| run(&mut bufs, job, Threads::Pool));
    }
    y
}

/// Transformed input tiles of one item: `v[ξ·Ci·n + c·n + j]` for tiles `t0..t0+n`.
fn gather_inputs<const N: usize>(
    src: &[f32],
    ci: usize,
    g: &Geometry<N>,
    tiles_per: &[usize; N],
    t0: usize,
    n: usize,
    v: &mut [f32],
) {
    let xi = 4usize.pow(N as u32);
    let pin = g.in_positions();
    let mut d = [0.0f32; 64];
    let mut t = [0.0f32; 64];
    for j in 0..n {
        let tile = unravel(t0 + j, tiles_per);
        let origin: [isize; N] = std::array::from_fn(|a| (2 * tile[a]) as isize - g.lo[a] as isize);
        for c in 0..ci {
            let chan = &src[c * pin..(c + 1) * pin];
            for (e, slot) in d[..xi].iter_mut().enumerate() {
                let k = unravel(e, &[4; N]);
                let mut off = 0usize;
                let mut inside = true;
                for a in 0..N {
                    let i = origin[a] + k[a] as isize;
                    if i < 0 || i >= g.input[a] as isize {
                        inside = false;
                        break;
                    }
                    off = off * g.input[a] + i as usize;
                }
                *slot = if inside { chan[off] } else { 0.0 };
            }
            separable::<N>(&d, 4, 4, &BT, &mut t);
            for (e, val) in t[..xi].iter().enumerate() {
                v[(e * ci + c) * n + j] = *val;
            }
        }
    }
}

/// Inverse-transform the products and write each tile's 2^N outputs (clipped at the far edges).
///
/// # Safety
/// `y` must point at one item's `Co × P_out` output, and no other thread may write these tiles.
#[allow(clippy::too_many_arguments)]
unsafe fn scatter_outputs<const N: usize>(
    y: *mut f32,
    co: usize,
    g: &Geometry<N>,
    tiles_per: &[usize; N],
    t0: usize,
    n: usize,
    m: &[f32],
    bias: Option<&[f32]>,
) {
    let xi = 4usize.pow(N as u32);
    let two = 2usize.pow(N as u32);
    let pout = g.out_positions();
    let mut mm = [0.0f32; 64];
    let mut r = [0.0f32; 64];
    for j in 0..n {
        let tile = unravel(t0 + j, tiles_per);
        for c in 0..co {
            for (e, slot) in mm[..xi].iter_mut().enumerate() {
                *slot = m[(e * co + c) * n + j];
            }
            separable::<N>(&mm, 4, 2, &AT, &mut r);
            let b = bias.map_or(0.0, |b| b[c]);
            for (e, val) in r[..two].iter().enumerate() {
                let k = unravel(e, &[2; N]);
                let mut off = 0usize;
                let mut inside = true;
                for a in 0..N {
                    let o = 2 * tile[a] + k[a];
                    inside &= o < g.output[a];
                    off = off * g.output[a] + o;
                }
                if inside {
                    *y.add(c * pout + off) = val + b;
                }
            }
        }
    }
}

/// Apply the `out_n × in_n` matrix `mat` along every axis of an `in_n^N` array into `dst` (`out_n^N`).
#[inline]
fn separable<const N: usize>(src: &[f32], in_n: usize, out_n: usize, mat: &[f32], dst: &mut [f32; 64]) {
    let mut a = [0.0f32; 64];
    let mut b = [0.0f32; 64];
    let len = in_n.pow(N as u32);
    a[..len].copy_from_slice(&src[..len]);
    for d in 0..N {
        let after = in_n.pow((N - 1 - d) as u32);
        let outer = out_n.pow(d as u32);
        for o in 0..outer {
            for row in 0..out_n {
                for i in 0..after {
                    let mut s = 0.0;
                    for col in 0..in_n {
                        s += mat[row * in_n + col] * a[(o * in_n + col) * after + i];
                    }
                    b[(o * out_n + row) * after + i] = s;
                }
            }
        }
        std::mem::swap(&mut a, &mut b);
    }
    dst[..out_n.pow(N as u32)].copy_from_slice(&a[..out_n.pow(N as u32)]);
}

/// The output pointer shared by the chunks; each writes only its own tiles.
#[derive(Clone, Copy)]
struct Ptr(*mut f32);
// SAFETY: chunks write disjoint output tiles (see `forward`).
unsafe impl Send for Ptr {}
unsafe impl Sync for Ptr {}
impl Ptr {
    fn get(self) -> *mut f32 {
        self.0
    }
}
