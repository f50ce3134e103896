//! Weights derived from a frozen kernel (transposed, Winograd-transformed), made on first use and kept.
//!
//! Style transfer evaluates the same network hundreds of times with the same weights, so the
//! rearrangements each convolution path needs are made once per layer instead of once per call:
//! at 4096 × 1025 × 11 (the audio extractor) the transposed kernel alone is 185 MB, and making it
//! took a third of the input-gradient's time.

use std::sync::{Arc, OnceLock};

/// What is derived from a kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Derived {
    /// `wt[ci, co·taps + k] = w[co, ci, k]`, for the im2col input gradient.
    Transposed,
    /// Winograd-transformed weights for tile `m` outputs per axis, forward or input gradient.
    Winograd { m: usize, backward: bool },
}

impl Derived {
    const COUNT: usize = 5;
    fn index(self) -> usize {
        match self {
            Derived::Transposed => 0,
            Derived::Winograd { m, backward } => 1 + 2 * usize::from(m == 4) + usize::from(backward),
        }
    }
}

/// The derived weights of one kernel, which the owner must never change while this lives
/// (`nn::Conv` keeps its kernel private for that reason). Clones share them: a cloned layer has
/// the same kernel. A fresh one (`Prepared::default()`) per call derives everything afresh.
#[derive(Clone, Debug, Default)]
pub struct Prepared(Arc<[OnceLock<Vec<f32>>; Derived::COUNT]>);

impl Prepared {
    /// `what`, made by `make` the first time it is asked for.
    pub(crate) fn get(&self, what: Derived, make: impl FnOnce() -> Vec<f32>) -> &[f32] {
        self.0[what.index()].get_or_init(make)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_form_is_made_once_and_shared_by_clones() {
        let p = Prepared::default();
        let mut calls = 0;
        for q in [p.clone(), p.clone(), p] {
            let v = q.get(Derived::Transposed, || {
                calls += 1;
                vec![1.0]
            });
            assert_eq!(v, [1.0]);
        }
        assert_eq!(calls, 1);
        let p = Prepared::default();
        p.get(Derived::Winograd { m: 4, backward: false }, || vec![2.0]);
        assert_eq!(
            p.get(Derived::Winograd { m: 4, backward: true }, || vec![3.0]),
            [3.0],
            "each form has its slot"
        );
        assert_eq!(p.get(Derived::Winograd { m: 2, backward: true }, || vec![4.0]), [4.0]);
    }
}
