//! Safe strided f32 matrix views and `C (+)= A·B` on top of the `gemm` crate's SGEMM kernels.

use gemm::Parallelism;

/// A read-only strided matrix view (element `(i, j)` at `data[i·rs + j·cs]`).
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

/// A mutable strided matrix view.
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

fn check_extent(len: usize, rows: usize, cols: usize, rs: usize, cs: usize) {
    if rows > 0 && cols > 0 {
        let last = (rows - 1) * rs + (cols - 1) * cs;
        assert!(last < len, "matrix view {rows}×{cols} (strides {rs}, {cs}) exceeds a buffer of {len}");
    }
}

impl<'a> MatRef<'a> {
    /// A view with explicit strides. **Panics** if it would reach outside `data`.
    #[track_caller]
    pub fn strided(data: &'a [f32], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        check_extent(data.len(), rows, cols, rs, cs);
        MatRef { data, rows, cols, rs, cs }
    }
    /// A dense row-major `rows × cols` view.
    #[track_caller]
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, cols, 1)
    }
    /// The transpose (no copy).
    pub fn t(self) -> Self {
        MatRef { rows: self.cols, cols: self.rows, rs: self.cs, cs: self.rs, ..self }
    }
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
}

impl<'a> MatMut<'a> {
    /// A mutable view with explicit strides. **Panics** if it would reach outside `data`.
    #[track_caller]
    pub fn strided(data: &'a mut [f32], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        check_extent(data.len(), rows, cols, rs, cs);
        MatMut { data, rows, cols, rs, cs }
    }
    /// A dense row-major `rows × cols` mutable view.
    #[track_caller]
    pub fn row_major(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, cols, 1)
    }
}

/// How a product may use threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// On the calling thread only (the caller parallelises over tiles).
    One,
    /// On rayon's global pool, with as many threads as it has.
    Pool,
}

/// `C = A·B` (`accumulate = false`) or `C += A·B` (`accumulate = true`).
///
/// # Shapes
/// `A: M × K`, `B: K × N`, `C: M × N`. **Panics** on mismatched shapes.
#[track_caller]
pub fn matmul(c: MatMut<'_>, a: MatRef<'_>, b: MatRef<'_>, accumulate: bool, threads: Threads) {
    // SAFETY: every view was bounds-checked at construction (`check_extent`) and `c` is borrowed
    // mutably, so it is valid for these writes and aliases neither `a` nor `b`.
    unsafe { matmul_raw(c.data.as_mut_ptr(), c.rows, c.cols, c.rs, c.cs, a, b, accumulate, threads) }
}

/// `C = scale·A·B`, the scale applied inside the product (no extra pass over `C`).
///
/// # Shapes
/// `A: M × K`, `B: K × N`, `C: M × N`. **Panics** on mismatched shapes.
#[track_caller]
pub fn matmul_scaled(c: MatMut<'_>, a: MatRef<'_>, b: MatRef<'_>, scale: f32, threads: Threads) {
    // SAFETY: as in `matmul`.
    unsafe { product(c.data.as_mut_ptr(), c.rows, c.cols, c.rs, c.cs, a, b, false, scale, threads) }
}

/// `C (+)= A·B` into a raw destination, for callers that write disjoint tiles of one buffer
/// from several threads.
///
/// # Safety
/// `c.add(i·rs + j·cs)` must be valid for reads and writes for every `i < rows`, `j < cols`, and no
/// other thread may touch those elements during the call. `a` and `b` must not overlap them.
#[allow(clippy::too_many_arguments)]
pub unsafe fn matmul_raw(
    c: *mut f32,
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
    a: MatRef<'_>,
    b: MatRef<'_>,
    accumulate: bool,
    threads: Threads,
) {
    product(c, rows, cols, rs, cs, a, b, accumulate, 1.0, threads)
}

/// `C = scale·A·B` or `C += scale·A·B`.
///
/// # Safety
/// The contract of [`matmul_raw`].
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn product(
    c: *mut f32,
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
    a: MatRef<'_>,
    b: MatRef<'_>,
    accumulate: bool,
    scale: f32,
    threads: Threads,
) {
    assert!(
        a.rows == rows && b.cols == cols && a.cols == b.rows,
        "matmul: A {}×{} · B {}×{} into C {rows}×{cols}",
        a.rows,
        a.cols,
        b.rows,
        b.cols
    );
    if rows == 0 || cols == 0 {
        return;
    }
    if a.cols == 0 {
        if !accumulate {
            for i in 0..rows {
                for j in 0..cols {
                    *c.add(i * rs + j * cs) = 0.0;
                }
            }
        }
        return;
    }
    let parallelism = match threads {
        Threads::One => Parallelism::None,
        Threads::Pool => Parallelism::Rayon(rayon::current_num_threads()),
    };
    gemm::gemm(
        rows,
        cols,
        a.cols,
        c,
        cs as isize,
        rs as isize,
        accumulate,
        a.data.as_ptr(),
        a.cs as isize,
        a.rs as isize,
        b.data.as_ptr(),
        b.cs as isize,
        b.rs as isize,
        1.0,
        scale,
        false,
        false,
        false,
        parallelism,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn matches_naive_product_plain_transposed_and_accumulated() {
        let mut rng = Rng::new(1);
        let (m, k, n) = (7, 13, 5);
        let a: Vec<f32> = (0..m * k).map(|_| rng.normal()).collect();
        let b: Vec<f32> = (0..k * n).map(|_| rng.normal()).collect();
        let want = naive(&a, &b, m, k, n);
        let mut c = vec![0.0; m * n];
        matmul(
            MatMut::row_major(&mut c, m, n),
            MatRef::row_major(&a, m, k),
            MatRef::row_major(&b, k, n),
            false,
            Threads::One,
        );
        want.iter().zip(&c).for_each(|(w, g)| assert!((w - g).abs() < 1e-4));
        // Cᵀ = Bᵀ·Aᵀ written through transposed views, accumulated onto itself (so doubled).
        let mut ct = vec![0.0; n * m];
        for _ in 0..2 {
            matmul(
                MatMut::strided(&mut ct, n, m, m, 1),
                MatRef::row_major(&b, k, n).t(),
                MatRef::row_major(&a, m, k).t(),
                true,
                Threads::Pool,
            );
        }
        for i in 0..m {
            for j in 0..n {
                assert!((ct[j * m + i] - 2.0 * want[i * n + j]).abs() < 1e-4);
            }
        }
    }
}
