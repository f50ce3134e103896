//! Gram matrices: the reference, the closed form by hand, and finite differences.

use ndstyle::tensor::gram::{gram, gram_backward, Gram};
use ndstyle::Tensor;
use proptest::prelude::*;

use crate::gradcheck::check_grad;
use crate::reference;
use crate::util::assert_close;

fn gram_case<const N: usize>(b: usize, c: usize, spatial: [usize; N], seed: u64) {
    let x = Tensor::randn(b, c, spatial, 1.0, seed);
    let scale = 1.0 / (c * x.positions()) as f32;
    let g = gram(&x, scale);
    assert_eq!((g.batch(), g.channels(), g.data().len()), (b, c, b * c * c));
    assert_close("gram vs reference", g.data(), &reference::gram(&x, scale), 1e-5, 1e-6);
    // Central differences are exact for a quadratic, up to rounding.
    check_grad(
        "gram_backward",
        &x,
        |x| gram(x, scale).into_vec(),
        |r| gram_backward(&x, &Gram::from_vec(b, c, r).unwrap(), scale),
        0.1,
        1e-3,
        1e-5,
        seed ^ 4,
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn gram_1d(b in 1usize..=2, c in 1usize..=5, s in 1usize..=13, seed in any::<u64>()) {
        gram_case(b, c, [s], seed);
    }

    #[test]
    fn gram_2d(b in 1usize..=2, c in 1usize..=5, s in proptest::array::uniform2(1usize..=6), seed in any::<u64>()) {
        gram_case(b, c, s, seed);
    }

    #[test]
    fn gram_3d(c in 1usize..=4, s in proptest::array::uniform3(1usize..=4), seed in any::<u64>()) {
        gram_case(1, c, s, seed);
    }
}

#[test]
fn gram_by_hand() {
    // F = [[1, 2, 3], [0, 1, -1]]: F·Fᵀ = [[14, -1], [-1, 2]].
    let x = Tensor::<1>::from_vec(1, 2, [3], vec![1.0, 2.0, 3.0, 0.0, 1.0, -1.0]).unwrap();
    let g = gram(&x, 0.5);
    assert_eq!(g.item(0), &[7.0, -0.5, -0.5, 1.0]);
    assert_eq!(g.at(0, 0, 1), -0.5);
    // dG = [[1, 0], [1, 0]]: dG + dGᵀ = [[2, 1], [1, 0]], dF = 0.5·[[2, 1], [1, 0]]·F.
    let dg = Gram::from_vec(1, 2, vec![1.0, 0.0, 1.0, 0.0]).unwrap();
    let dx = gram_backward(&x, &dg, 0.5);
    assert_eq!(dx.data(), &[1.0, 2.5, 2.5, 0.5, 1.0, 1.5]);
    assert!(Gram::from_vec(1, 2, vec![0.0; 3]).is_err());
    // An item with no positions has a zero Gram matrix.
    let g = gram(&Tensor::<2>::zeros(2, 3, [0, 4]), 1.0);
    assert!(g.data().iter().all(|&v| v == 0.0) && g.data().len() == 18);
}

#[test]
fn gram_of_a_batch_treats_items_separately() {
    let x = Tensor::<2>::randn(3, 4, [5, 3], 1.0, 5);
    let g = gram(&x, 1.0);
    for b in 0..3 {
        let one = Tensor::<2>::from_vec(1, 4, [5, 3], x.item(b).to_vec()).unwrap();
        assert_eq!(gram(&one, 1.0).item(0), g.item(b));
    }
}

#[test]
#[should_panic(expected = "gram_backward")]
fn gram_backward_rejects_mismatched_shapes() {
    gram_backward(&Tensor::<1>::zeros(1, 2, [3]), &Gram::zeros(1, 3), 1.0);
}
