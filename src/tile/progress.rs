//! The tile an evaluation is at, for progress displays that redraw while a long evaluation runs.

use std::sync::atomic::{AtomicUsize, Ordering};

static AT: AtomicUsize = AtomicUsize::new(0);
static OF: AtomicUsize = AtomicUsize::new(0);

/// Record that tile `i` (0-based) of `n` is being evaluated.
pub fn report(i: usize, n: usize) {
    AT.store(i + 1, Ordering::Relaxed);
    OF.store(n, Ordering::Relaxed);
}

/// The last tile reported, 1-based, and the number of tiles; `None` before any tiled evaluation
/// or when evaluations are whole.
pub fn current() -> Option<(usize, usize)> {
    let (at, of) = (AT.load(Ordering::Relaxed), OF.load(Ordering::Relaxed));
    (of > 1).then_some((at, of))
}
