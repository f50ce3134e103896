//! Sliding-window geometry shared by convolution and pooling: kernel, stride, padding, dilation per axis.

use crate::error::{Error, Result};

/// Padding of each spatial axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding<const N: usize> {
    /// Explicit zero padding before (`lo`) and after (`hi`) each axis.
    Explicit { lo: [usize; N], hi: [usize; N] },
    /// "Same" padding (as in TensorFlow): the output has `ceil(S / stride)` positions per axis,
    /// the padding split evenly with any odd unit after.
    Same,
}

impl<const N: usize> Padding<N> {
    /// The same padding `p[d]` before and after each axis.
    pub fn symmetric(p: [usize; N]) -> Self {
        Padding::Explicit { lo: p, hi: p }
    }
    /// No padding.
    pub fn valid() -> Self {
        Padding::Explicit { lo: [0; N], hi: [0; N] }
    }
}

/// A sliding window over `N` spatial axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window<const N: usize> {
    pub kernel: [usize; N],
    pub stride: [usize; N],
    pub padding: Padding<N>,
    pub dilation: [usize; N],
}

impl<const N: usize> Window<N> {
    /// A window of size `kernel`, stride 1, no padding, no dilation.
    pub fn new(kernel: [usize; N]) -> Self {
        Window { kernel, stride: [1; N], padding: Padding::valid(), dilation: [1; N] }
    }
    /// A cube window of side `k` with "same" padding and stride 1 (the VGG convolution).
    pub fn same(k: usize) -> Self {
        Window { padding: Padding::Same, ..Self::new([k; N]) }
    }
    /// Set the stride.
    pub fn stride(mut self, stride: [usize; N]) -> Self {
        self.stride = stride;
        self
    }
    /// Set the padding.
    pub fn padding(mut self, padding: Padding<N>) -> Self {
        self.padding = padding;
        self
    }
    /// Set the dilation.
    pub fn dilation(mut self, dilation: [usize; N]) -> Self {
        self.dilation = dilation;
        self
    }

    /// Number of kernel taps `K_1·…·K_N`.
    pub fn taps(&self) -> usize {
        self.kernel.iter().product()
    }

    /// Resolve padding and output size for an input of spatial size `input`.
    pub fn resolve(&self, input: [usize; N]) -> Result<Geometry<N>> {
        for d in 0..N {
            if self.kernel[d] == 0 || self.stride[d] == 0 || self.dilation[d] == 0 {
                return Err(Error::invalid(
                    "window",
                    format!(
                        "kernel {:?}, stride {:?}, dilation {:?} must all be at least 1",
                        self.kernel, self.stride, self.dilation
                    ),
                ));
            }
        }
        let span = |d: usize| self.dilation[d] * (self.kernel[d] - 1) + 1;
        let (lo, hi) = match self.padding {
            Padding::Explicit { lo, hi } => (lo, hi),
            Padding::Same => {
                let (mut lo, mut hi) = ([0; N], [0; N]);
                for d in 0..N {
                    let out = input[d].div_ceil(self.stride[d]);
                    let total = ((out.max(1) - 1) * self.stride[d] + span(d)).saturating_sub(input[d]);
                    lo[d] = total / 2;
                    hi[d] = total - lo[d];
                }
                (lo, hi)
            }
        };
        let mut output = [0; N];
        for d in 0..N {
            let padded = input[d] + lo[d] + hi[d];
            if padded < span(d) {
                return Err(Error::invalid(
                    "window",
                    format!(
                        "axis {d}: input {} (padded {padded}) is smaller than the kernel span {} (kernel {}, dilation {})",
                        input[d], span(d), self.kernel[d], self.dilation[d]
                    ),
                ));
            }
            output[d] = (padded - span(d)) / self.stride[d] + 1;
        }
        Ok(Geometry {
            kernel: self.kernel,
            stride: self.stride,
            dilation: self.dilation,
            lo,
            hi,
            input,
            output,
        })
    }
}

/// A window resolved against an input size: every number an operation's loops need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry<const N: usize> {
    pub kernel: [usize; N],
    pub stride: [usize; N],
    pub dilation: [usize; N],
    /// Padding before each axis.
    pub lo: [usize; N],
    /// Padding after each axis.
    pub hi: [usize; N],
    pub input: [usize; N],
    pub output: [usize; N],
}

impl<const N: usize> Geometry<N> {
    /// Number of kernel taps.
    pub fn taps(&self) -> usize {
        self.kernel.iter().product()
    }
    /// Number of input positions.
    pub fn in_positions(&self) -> usize {
        self.input.iter().product()
    }
    /// Number of output positions.
    pub fn out_positions(&self) -> usize {
        self.output.iter().product()
    }
    /// The input coordinate (possibly in the padding, hence signed) read by output `o`, tap `k`, on axis `d`.
    #[inline(always)]
    pub fn source(&self, d: usize, o: usize, k: usize) -> isize {
        (o * self.stride[d] + k * self.dilation[d]) as isize - self.lo[d] as isize
    }
}

/// Row strides (in elements) of a row-major grid `dims`: the last axis is contiguous.
#[inline]
pub fn row_strides<const N: usize>(dims: &[usize; N]) -> [usize; N] {
    let mut s = [1usize; N];
    for d in (0..N.saturating_sub(1)).rev() {
        s[d] = s[d + 1] * dims[d + 1];
    }
    s
}

/// Decompose a row-major flat index into a multi-index over `dims`.
#[inline]
pub fn unravel<const N: usize>(mut flat: usize, dims: &[usize; N]) -> [usize; N] {
    let mut idx = [0; N];
    for d in (0..N).rev() {
        idx[d] = flat % dims[d];
        flat /= dims[d];
    }
    idx
}

/// Row-major flat index of a multi-index over `dims`.
#[inline]
pub fn ravel<const N: usize>(idx: &[usize; N], dims: &[usize; N]) -> usize {
    idx.iter().zip(dims).fold(0, |acc, (&i, &s)| acc * s + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_strides_step_the_flat_index_along_each_axis() {
        let dims = [2, 3, 4];
        assert_eq!(row_strides(&dims), [12, 4, 1]);
        assert_eq!(row_strides(&[7]), [1]);
        for d in 0..3 {
            let mut idx = [1, 1, 1];
            let before = ravel(&idx, &dims);
            idx[d] += 1;
            assert_eq!(ravel(&idx, &dims) - before, row_strides(&dims)[d]);
        }
    }

    #[test]
    fn output_sizes_match_the_closed_form() {
        let g = Window::<1>::new([3]).stride([2]).padding(Padding::symmetric([1])).resolve([10]).unwrap();
        assert_eq!(g.output, [5]); // (10 + 2 - 3) / 2 + 1
        let g = Window::<2>::same(3).resolve([7, 8]).unwrap();
        assert_eq!((g.output, g.lo, g.hi), ([7, 8], [1, 1], [1, 1]));
        let g = Window::<1>::new([4]).padding(Padding::Same).stride([3]).resolve([10]).unwrap();
        assert_eq!(g.output, [4]); // ceil(10 / 3)
        assert_eq!(g.lo[0] + g.hi[0], 3); // (4 - 1) * 3 + 4 - 10
        let g = Window::<3>::new([3, 3, 3]).dilation([2, 1, 1]).resolve([5, 3, 4]).unwrap();
        assert_eq!(g.output, [1, 1, 2]);
        assert!(Window::<1>::new([4]).resolve([3]).is_err());
        assert!(Window::<1>::new([0]).resolve([3]).is_err());
    }

    #[test]
    fn ravel_inverts_unravel() {
        let dims = [3, 4, 5];
        for f in 0..60 {
            assert_eq!(ravel(&unravel(f, &dims), &dims), f);
        }
    }
}
