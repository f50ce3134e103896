//! ReLU: the reference, in-place agreement, finite differences, and the parallel path.

use ndstyle::rng::Rng;
use ndstyle::tensor::activation::{relu, relu_backward, relu_inplace};
use ndstyle::Tensor;
use proptest::prelude::*;

use crate::gradcheck::check_grad;
use crate::reference;

/// Values with `|v| ≥ 0.1`, so that finite differences with eps 0.05 never cross the kink.
fn away_from_zero<const N: usize>(b: usize, c: usize, spatial: [usize; N], seed: u64) -> Tensor<N> {
    let mut rng = Rng::new(seed);
    let mut x = Tensor::zeros(b, c, spatial);
    x.data_mut().iter_mut().for_each(|v| {
        let m = rng.uniform_in(0.1, 2.0);
        *v = if rng.uniform() < 0.5 { -m } else { m };
    });
    x
}

fn relu_case<const N: usize>(b: usize, c: usize, spatial: [usize; N], seed: u64) {
    let x = away_from_zero(b, c, spatial, seed);
    let y = relu(&x);
    assert_eq!(y, reference::relu(&x));
    let mut z = x.clone();
    relu_inplace(&mut z);
    assert_eq!(z, y);
    check_grad(
        "relu_backward",
        &x,
        |x| relu(x).into_vec(),
        |r| relu_backward(&y, &Tensor::from_vec(b, c, spatial, r).unwrap()),
        0.05,
        1e-4,
        1e-4,
        seed ^ 3,
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn relu_1d(b in 1usize..=2, c in 1usize..=3, s in 1usize..=11, seed in any::<u64>()) {
        relu_case(b, c, [s], seed);
    }

    #[test]
    fn relu_2d(b in 1usize..=2, c in 1usize..=3, s in proptest::array::uniform2(1usize..=7), seed in any::<u64>()) {
        relu_case(b, c, s, seed);
    }

    #[test]
    fn relu_3d(c in 1usize..=3, s in proptest::array::uniform3(1usize..=5), seed in any::<u64>()) {
        relu_case(1, c, s, seed);
    }
}

#[test]
fn relu_edge_values_and_parallel_path() {
    let x = Tensor::<1>::from_vec(1, 1, [5], vec![-1.0, 0.0, 2.0, f32::NAN, -0.0]).unwrap();
    let y = relu(&x);
    assert_eq!(&y.data()[..3], &[0.0, 0.0, 2.0]);
    assert_eq!(y.data()[3], 0.0);
    assert_eq!(y.data()[4], 0.0);
    // The subgradient at 0 is 0.
    let dx = relu_backward(&y, &Tensor::full(1, 1, [5], 1.0));
    assert_eq!(dx.data(), &[0.0, 0.0, 1.0, 0.0, 0.0]);
    // Large enough for the parallel chunks (and not a multiple of the chunk size).
    let x = Tensor::<2>::randn(1, 3, [211, 157], 1.0, 9);
    let y = relu(&x);
    assert_eq!(y, reference::relu(&x));
    let dy = Tensor::randn(1, 3, [211, 157], 1.0, 10);
    let dx = relu_backward(&y, &dy);
    let want = dy.data().iter().zip(x.data()).map(|(&g, &v)| if v > 0.0 { g } else { 0.0 });
    assert!(dx.data().iter().copied().eq(want));
}

#[test]
#[should_panic(expected = "relu_backward")]
fn relu_backward_rejects_mismatched_shapes() {
    relu_backward(&Tensor::<1>::zeros(1, 1, [3]), &Tensor::zeros(1, 1, [4]));
}
