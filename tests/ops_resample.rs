//! Resizing: the direct reference, PyTorch values by hand, the adjoint, and finite differences.

use ndstyle::tensor::resample::{resize, resize_backward, Interp};
use ndstyle::Tensor;
use proptest::prelude::*;

use crate::gradcheck::check_grad;
use crate::reference;
use crate::util::assert_close;

fn resize_case<const N: usize>(
    b: usize,
    c: usize,
    input: [usize; N],
    out: [usize; N],
    linear: bool,
    seed: u64,
) {
    let mode = if linear { Interp::Linear } else { Interp::Nearest };
    let x = Tensor::randn(b, c, input, 1.0, seed);
    let y = resize(&x, out, mode).unwrap();
    let want = reference::resize(&x, out, linear);
    assert!(y.same_shape(&want), "{} vs {}", y.shape_string(), want.shape_string());
    let want: Vec<f64> = want.data().iter().map(|&v| v as f64).collect();
    assert_close("resize vs reference", y.data(), &want, 1e-5, 1e-6);
    // The backward is the adjoint: <resize(x), r> = <x, resize_backward(r)>.
    let r = Tensor::randn(b, c, out, 1.0, seed ^ 5);
    let dx = resize_backward(&r, input, mode).unwrap();
    let (lhs, rhs) = (y.dot(&r), x.dot(&dx));
    assert!((lhs - rhs).abs() <= 1e-4 * (1.0 + lhs.abs()), "adjoint: {lhs} vs {rhs}");
    check_grad(
        "resize_backward",
        &x,
        |x| resize(x, out, mode).unwrap().into_vec(),
        |r| resize_backward(&Tensor::from_vec(b, c, out, r).unwrap(), input, mode).unwrap(),
        0.1,
        1e-3,
        1e-4,
        seed ^ 6,
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn resize_1d(b in 1usize..=2, c in 1usize..=2, i in 1usize..=9, o in 1usize..=13, linear: bool, seed in any::<u64>()) {
        resize_case(b, c, [i], [o], linear, seed);
    }

    #[test]
    fn resize_2d(
        c in 1usize..=2,
        i in proptest::array::uniform2(1usize..=6),
        o in proptest::array::uniform2(1usize..=9),
        linear: bool,
        seed in any::<u64>(),
    ) {
        resize_case(1, c, i, o, linear, seed);
    }

    #[test]
    fn resize_3d(
        c in 1usize..=2,
        i in proptest::array::uniform3(1usize..=4),
        o in proptest::array::uniform3(1usize..=6),
        linear: bool,
        seed in any::<u64>(),
    ) {
        resize_case(1, c, i, o, linear, seed);
    }
}

#[test]
fn resize_matches_pytorch_values() {
    // F.interpolate(torch.arange(4.).view(1, 1, 4), size=8, mode='linear')
    let x = Tensor::<1>::from_vec(1, 1, [4], vec![0.0, 1.0, 2.0, 3.0]).unwrap();
    let y = resize(&x, [8], Interp::Linear).unwrap();
    assert_eq!(y.data(), &[0.0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.0]);
    // Downsampling by 2 averages neighbours: size=3 of arange(6) gives [0.5, 2.5, 4.5].
    let x = Tensor::<1>::from_vec(1, 1, [6], (0..6).map(|v| v as f32).collect()).unwrap();
    assert_eq!(resize(&x, [3], Interp::Linear).unwrap().data(), &[0.5, 2.5, 4.5]);
    // 'nearest' takes floor(j · in / out): 3 → 5 reads [0, 0, 1, 1, 2]; 6 → 4 reads [0, 1, 3, 4].
    let x = Tensor::<1>::from_vec(1, 1, [3], vec![10.0, 20.0, 30.0]).unwrap();
    assert_eq!(resize(&x, [5], Interp::Nearest).unwrap().data(), &[10.0, 10.0, 20.0, 20.0, 30.0]);
    let x = Tensor::<1>::from_vec(1, 1, [6], (0..6).map(|v| v as f32).collect()).unwrap();
    assert_eq!(resize(&x, [4], Interp::Nearest).unwrap().data(), &[0.0, 1.0, 3.0, 4.0]);
    // F.interpolate([[1, 2], [3, 4]], size=(4, 4), mode='bilinear', align_corners=False)
    let x = Tensor::<2>::from_vec(1, 1, [2, 2], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    let y = resize(&x, [4, 4], Interp::Linear).unwrap();
    #[rustfmt::skip]
    let want = [
        1.0, 1.25, 1.75, 2.0,
        1.5, 1.75, 2.25, 2.5,
        2.5, 2.75, 3.25, 3.5,
        3.0, 3.25, 3.75, 4.0,
    ];
    assert_eq!(y.data(), &want);
    // Same size is the identity in both modes.
    let x = Tensor::<3>::randn(2, 2, [3, 4, 2], 1.0, 1);
    assert_eq!(resize(&x, [3, 4, 2], Interp::Linear).unwrap(), x);
    assert_eq!(resize(&x, [3, 4, 2], Interp::Nearest).unwrap(), x);
}

#[test]
fn resize_rejects_zero_sizes() {
    let x = Tensor::<2>::randn(1, 1, [3, 3], 1.0, 2);
    assert!(resize(&x, [0, 3], Interp::Linear).is_err());
    assert!(resize(&Tensor::<2>::zeros(1, 1, [0, 3]), [2, 2], Interp::Nearest).is_err());
    assert!(resize_backward(&x, [3, 0], Interp::Linear).is_err());
    assert!(resize_backward(&Tensor::<2>::zeros(1, 1, [3, 0]), [3, 3], Interp::Linear).is_err());
}
