//! Wall-clock time spent in each kind of work (convolution, Gram matrices), for benchmark breakdowns.
//!
//! Counters are process-wide atomics; an `Instant` pair per call costs tens of nanoseconds, far
//! below the milliseconds each timed operation takes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A kind of work whose time is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Convolution forward and input-backward.
    Conv,
    /// Gram matrices and their backward.
    Gram,
}

static NANOS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Run `f`, adding its wall-clock time to `phase`'s counter.
#[inline]
pub fn timed<T>(phase: Phase, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    NANOS[phase as usize].fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
    out
}

/// Seconds counted for `phase` since the last [`reset`].
pub fn seconds(phase: Phase) -> f64 {
    NANOS[phase as usize].load(Ordering::Relaxed) as f64 * 1e-9
}

/// Zero every counter.
pub fn reset() {
    NANOS.iter().for_each(|n| n.store(0, Ordering::Relaxed));
}
