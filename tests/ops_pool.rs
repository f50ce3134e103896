//! Max and average pooling: finite differences, the naive reference, and NumPy fixtures.

use ndstyle::tensor::pool::{avg_pool, avg_pool_backward, max_pool, max_pool_backward};
use ndstyle::tensor::{Padding, Window};
use ndstyle::Tensor;
use proptest::prelude::*;

use crate::fixtures::{parse, Case};
use crate::gradcheck::{check_grad, distinct, window_strategy};
use crate::reference;
use crate::util::assert_close;

fn widen(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&v| v as f64).collect()
}

/// True when some window of `w` over `input` holds no input cell.
fn has_empty_window<const N: usize>(w: &Window<N>, input: [usize; N]) -> bool {
    let g = w.resolve(input).unwrap();
    (0..N).any(|d| {
        (0..g.output[d]).any(|o| {
            (0..g.kernel[d]).all(|k| g.source(d, o, k) < 0 || g.source(d, o, k) >= input[d] as isize)
        })
    })
}

/// Max pooling on distinct values: forward equals the reference exactly (values and argmax
/// offsets), and the backward agrees with finite differences (eps 0.02 < half the 0.1 gap).
fn max_pool_case<const N: usize>(b: usize, c: usize, input: [usize; N], w: Window<N>, seed: u64) {
    let x = distinct(b, c, input, 0.1, seed);
    let (y, idx) = max_pool(&x, &w).unwrap();
    let (want, want_idx) = reference::max_pool(&x, &w);
    assert_eq!(y, want, "max_pool values, window {w:?}");
    assert_eq!(idx.offsets(), &want_idx[..], "max_pool indices, window {w:?}");
    assert_eq!(idx.input_spatial(), &input[..]);
    check_grad(
        "max_pool_backward",
        &x,
        |x| max_pool(x, &w).unwrap().0.into_vec(),
        |r| max_pool_backward(&Tensor::from_vec(b, c, y.spatial(), r).unwrap(), &idx, input).unwrap(),
        0.02,
        1e-3,
        1e-3,
        seed ^ 1,
    );
}

/// Average pooling: forward agrees with the reference to 1e-5, backward with finite differences
/// (the op is linear, so a large step is exact up to rounding).
fn avg_pool_case<const N: usize>(
    b: usize,
    c: usize,
    input: [usize; N],
    w: Window<N>,
    include: bool,
    seed: u64,
) {
    let x = Tensor::randn(b, c, input, 1.0, seed);
    let y = avg_pool(&x, &w, include).unwrap();
    let want = reference::avg_pool(&x, &w, include);
    assert!(y.same_shape(&want));
    assert_close("avg_pool vs reference", y.data(), &widen(want.data()), 1e-5, 1e-6);
    check_grad(
        "avg_pool_backward",
        &x,
        |x| avg_pool(x, &w, include).unwrap().into_vec(),
        |r| avg_pool_backward(&Tensor::from_vec(b, c, y.spatial(), r).unwrap(), &w, input, include).unwrap(),
        0.1,
        1e-3,
        1e-4,
        seed ^ 2,
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn max_pool_1d(b in 1usize..=2, c in 1usize..=2, (input, w) in window_strategy::<1>(9), seed in any::<u64>()) {
        prop_assume!(w.resolve(input).is_ok() && !has_empty_window(&w, input));
        max_pool_case(b, c, input, w, seed);
    }

    #[test]
    fn max_pool_2d(b in 1usize..=2, c in 1usize..=2, (input, w) in window_strategy::<2>(7), seed in any::<u64>()) {
        prop_assume!(w.resolve(input).is_ok() && !has_empty_window(&w, input));
        max_pool_case(b, c, input, w, seed);
    }

    #[test]
    fn max_pool_3d(c in 1usize..=2, (input, w) in window_strategy::<3>(5), seed in any::<u64>()) {
        prop_assume!(w.resolve(input).is_ok() && !has_empty_window(&w, input));
        max_pool_case(1, c, input, w, seed);
    }

    #[test]
    fn avg_pool_1d(b in 1usize..=2, c in 1usize..=2, (input, w) in window_strategy::<1>(9), include: bool, seed in any::<u64>()) {
        prop_assume!(w.resolve(input).is_ok() && (include || !has_empty_window(&w, input)));
        avg_pool_case(b, c, input, w, include, seed);
    }

    #[test]
    fn avg_pool_2d(b in 1usize..=2, c in 1usize..=2, (input, w) in window_strategy::<2>(7), include: bool, seed in any::<u64>()) {
        prop_assume!(w.resolve(input).is_ok() && (include || !has_empty_window(&w, input)));
        avg_pool_case(b, c, input, w, include, seed);
    }

    #[test]
    fn avg_pool_3d(c in 1usize..=2, (input, w) in window_strategy::<3>(5), include: bool, seed in any::<u64>()) {
        prop_assume!(w.resolve(input).is_ok() && (include || !has_empty_window(&w, input)));
        avg_pool_case(1, c, input, w, include, seed);
    }
}

/// Windows that tile the input (stride = kernel, no padding or dilation), as VGG pools: the
/// fast path, against the reference (values, argmax offsets, finite differences), with sizes that
/// leave a remainder the windows do not cover.
fn tiling_strategy<const N: usize>(max_size: usize) -> impl Strategy<Value = ([usize; N], Window<N>)> {
    proptest::collection::vec((1usize..=3, 0usize..=max_size), N).prop_map(|axes| {
        let k: [usize; N] = std::array::from_fn(|d| axes[d].0);
        (std::array::from_fn(|d| k[d] + axes[d].1), Window::new(k).stride(k))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn max_pool_tiling_windows_1d(b in 1usize..=2, (input, w) in tiling_strategy::<1>(9), seed in any::<u64>()) {
        max_pool_case(b, 2, input, w, seed);
    }

    #[test]
    fn max_pool_tiling_windows_2d(b in 1usize..=2, (input, w) in tiling_strategy::<2>(7), seed in any::<u64>()) {
        max_pool_case(b, 2, input, w, seed);
    }

    #[test]
    fn max_pool_tiling_windows_3d((input, w) in tiling_strategy::<3>(5), seed in any::<u64>()) {
        max_pool_case(1, 2, input, w, seed);
    }
}

/// Ties go to the first maximum in kernel order and the first NaN wins, on the tiling fast path
/// (2×2 windows over 0/1 values with NaNs planted) as on the general one (a stride-1 window).
#[test]
fn max_pool_ties_and_nans_on_both_paths() {
    let v = [1.0, 1.0, 0.0, f32::NAN, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, f32::NAN, 1.0, 0.0, 0.0, f32::NAN, 0.0];
    let x = Tensor::<2>::from_vec(1, 1, [4, 4], v.to_vec()).unwrap();
    // Windows (row-major cells): [1,1,0,1] → 1 at 0; [0,NaN,1,0] → NaN at 3;
    // [0,0,0,0] → 0 at 8; [NaN,1,NaN,0] → NaN at 10.
    let (y, idx) = max_pool(&x, &Window::new([2, 2]).stride([2, 2])).unwrap();
    assert_eq!(idx.offsets(), &[0, 3, 8, 10]);
    assert_eq!((y.data()[0], y.data()[2]), (1.0, 0.0));
    assert!(y.data()[1].is_nan() && y.data()[3].is_nan());
    let (y1, idx1) = max_pool(&x, &Window::new([2, 2]).stride([1, 1])).unwrap();
    assert_eq!(idx1.plane(0, 0)[0], 0, "first of the tied ones");
    assert!(y1.at(0, 0, [0, 2]).is_nan() && idx1.plane(0, 0)[2] == 3, "the NaN of [0, NaN, 1, 0]");
}

#[test]
fn max_pool_by_hand_padding_never_wins() {
    let x = Tensor::<1>::from_vec(1, 1, [5], vec![-1.0, -3.0, -2.0, -5.0, -4.0]).unwrap();
    let w = Window::new([2]).stride([2]).padding(Padding::symmetric([1]));
    let (y, idx) = max_pool(&x, &w).unwrap();
    // Windows [pad, -1], [-3, -2], [-5, -4]: the padded cell would win were it zero.
    assert_eq!(y.data(), &[-1.0, -2.0, -4.0]);
    assert_eq!(idx.offsets(), &[0, 2, 4]);
    let dx =
        max_pool_backward(&Tensor::from_vec(1, 1, [3], vec![1.0, 2.0, 3.0]).unwrap(), &idx, [5]).unwrap();
    assert_eq!(dx.data(), &[1.0, 0.0, 2.0, 0.0, 3.0]);
    // Overlapping windows accumulate onto a shared winner.
    let x = Tensor::<1>::from_vec(1, 1, [3], vec![0.0, 9.0, 1.0]).unwrap();
    let (y, idx) = max_pool(&x, &Window::new([2])).unwrap();
    assert_eq!(y.data(), &[9.0, 9.0]);
    let dx = max_pool_backward(&Tensor::from_vec(1, 1, [2], vec![1.0, 10.0]).unwrap(), &idx, [3]).unwrap();
    assert_eq!(dx.data(), &[0.0, 11.0, 0.0]);
}

#[test]
fn avg_pool_by_hand_include_and_exclude_padding() {
    let x = Tensor::<1>::from_vec(1, 1, [4], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    let w = Window::new([3]).stride([2]).padding(Padding::symmetric([1]));
    // Windows [pad, 1, 2] and [2, 3, 4].
    let y = avg_pool(&x, &w, true).unwrap();
    assert_eq!(y.data(), &[1.0, 3.0]);
    let y = avg_pool(&x, &w, false).unwrap();
    assert_eq!(y.data(), &[1.5, 3.0]);
    let dy = Tensor::<1>::from_vec(1, 1, [2], vec![3.0, 6.0]).unwrap();
    assert_eq!(avg_pool_backward(&dy, &w, [4], true).unwrap().data(), &[1.0, 3.0, 2.0, 2.0]);
    assert_eq!(avg_pool_backward(&dy, &w, [4], false).unwrap().data(), &[1.5, 3.5, 2.0, 2.0]);
}

#[test]
fn pooling_errors_are_reported() {
    let x = Tensor::<2>::randn(1, 2, [4, 4], 1.0, 3);
    // A window entirely in the padding (padding 2, kernel 1 at the corner).
    let w = Window::new([1, 1]).padding(Padding::symmetric([2, 0]));
    assert!(max_pool(&x, &w).is_err());
    assert!(avg_pool(&x, &w, false).is_err());
    let y = avg_pool(&x, &w, true).unwrap();
    assert_eq!(y.spatial(), [8, 4]);
    assert_eq!(y.at(0, 0, [0, 0]), 0.0);
    // A kernel larger than the padded input, and an empty input.
    assert!(max_pool(&x, &Window::new([5, 1])).is_err());
    assert!(avg_pool(&Tensor::<2>::zeros(1, 1, [0, 3]), &Window::new([1, 1]), true).is_err());
    // Gradients of the wrong shape.
    let w = Window::new([2, 2]).stride([2, 2]);
    let (_, idx) = max_pool(&x, &w).unwrap();
    assert!(max_pool_backward(&Tensor::zeros(1, 2, [3, 2]), &idx, [4, 4]).is_err());
    assert!(max_pool_backward(&Tensor::zeros(1, 2, [2, 2]), &idx, [4, 5]).is_err());
    assert!(max_pool_backward(&Tensor::zeros(1, 1, [2, 2]), &idx, [4, 4]).is_err());
    assert!(avg_pool_backward(&Tensor::zeros(1, 2, [3, 2]), &w, [4, 4], true).is_err());
}

#[test]
fn pooling_large_planes_in_parallel_match_the_reference() {
    let x = distinct(2, 3, [20, 17], 0.01, 11);
    let w = Window::new([3, 3]).stride([2, 2]).padding(Padding::Same);
    let (y, idx) = max_pool(&x, &w).unwrap();
    let (want, want_idx) = reference::max_pool(&x, &w);
    assert_eq!(y, want);
    assert_eq!(idx.offsets(), &want_idx[..]);
    assert_eq!(idx.plane(1, 2), &want_idx[5 * y.positions()..]);
}

fn fixture_case<const N: usize>(case: &Case) {
    let x = case.tensor::<N>("x");
    let window = case.window::<N>();
    let want = case.tensor::<N>("y");
    if case.op.starts_with("max_pool") {
        let (y, idx) = max_pool(&x, &window).unwrap();
        assert!(y.same_shape(&want), "{}: {} vs {}", case.op, y.shape_string(), want.shape_string());
        assert_close(&case.op, y.data(), &case.array("y").values, 1e-5, 1e-5);
        let want_idx: Vec<u32> = case.array("indices").values.iter().map(|&v| v as u32).collect();
        assert_eq!(idx.offsets(), &want_idx[..], "{} indices", case.op);
    } else {
        let include = case.flag("count_include_pad", true);
        let y = avg_pool(&x, &window, include).unwrap();
        assert!(y.same_shape(&want), "{}: {} vs {}", case.op, y.shape_string(), want.shape_string());
        assert_close(&case.op, y.data(), &case.array("y").values, 1e-5, 1e-5);
    }
}

#[test]
fn pool_2d_matches_numpy_fixtures() {
    let cases = parse(include_str!("fixtures/pool2d.txt"));
    assert_eq!(cases.len(), 6);
    cases.iter().for_each(fixture_case::<2>);
}

#[test]
fn pool_3d_matches_numpy_fixtures() {
    let cases = parse(include_str!("fixtures/pool3d.txt"));
    assert_eq!(cases.len(), 4);
    cases.iter().for_each(fixture_case::<3>);
}
