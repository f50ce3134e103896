//! Which fast kernels run (Winograd, shifted 1D products, symmetric Gram), set once per process.
//!
//! By default Winograd runs in 2D and 3D (F(4,3)^N on layers with at least 256 such tiles,
//! F(2,3)^N on smaller ones) and the Gram is a symmetric product; the shifted 1D products are off
//! (they did not win against im2col on the audio and ECG workloads).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static WINOGRAD: AtomicBool = AtomicBool::new(Kernels::DEFAULT.winograd);
static WINOGRAD4: AtomicBool = AtomicBool::new(Kernels::DEFAULT.winograd4);
static SHIFT: AtomicBool = AtomicBool::new(Kernels::DEFAULT.shift);
static SYRK: AtomicBool = AtomicBool::new(Kernels::DEFAULT.syrk);
static F4_MIN_TILES: AtomicUsize = AtomicUsize::new(Kernels::DEFAULT.f4_min_tiles);

/// Fewest F(4,3) tiles in a layer for F(4,3) to be used by default: below, its products are too
/// narrow for their `6^N` transformed weight matrices and F(2,3) ran faster (VGG16's conv4 at 32²,
/// and the inflated conv3 at 16³ by 2×, on a 2-core AVX-512 Xeon).
pub const DEFAULT_F4_MIN_TILES: usize = 256;

/// The fast kernels to use where they apply; the others fall back to im2col and the full Gram
/// product. For measuring each against the plain path in one binary: results agree to rounding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kernels {
    /// Winograd for 3-tap stride-1 layers in 2D and 3D.
    pub winograd: bool,
    /// Winograd with F(4,3)^N tiles (fewer products, more rounding) instead of F(2,3)^N on layers
    /// with at least `f4_min_tiles` of them.
    pub winograd4: bool,
    /// See `winograd4`; 0 uses F(4,3) on every Winograd layer.
    pub f4_min_tiles: usize,
    /// One product per tap on shifted views for wide 1D stride-1 layers.
    pub shift: bool,
    /// The Gram matrix as a symmetric rank-k update.
    pub syrk: bool,
}

impl Kernels {
    /// Every fast kernel.
    pub const ALL: Kernels = Kernels {
        winograd: true,
        winograd4: true,
        f4_min_tiles: DEFAULT_F4_MIN_TILES,
        shift: true,
        syrk: true,
    };
    /// The default: Winograd (F(4,3) on large layers) and the symmetric Gram.
    pub const DEFAULT: Kernels = Kernels { shift: false, ..Kernels::ALL };
    /// None: im2col convolution and full Gram products only.
    pub const PLAIN: Kernels = Kernels {
        winograd: false,
        winograd4: false,
        f4_min_tiles: DEFAULT_F4_MIN_TILES,
        shift: false,
        syrk: false,
    };

    /// `"all"`, `"plain"`, `"default"`, or `"plain"` plus a comma list of the kernels to keep (`"plain,syrk"`),
    /// or `"all"` minus some (`"all,-winograd"`); `None` for anything else.
    pub fn parse(s: &str) -> Option<Kernels> {
        let mut parts = s.split(',').map(str::trim);
        let mut k = match parts.next()? {
            "all" => Kernels::ALL,
            "plain" => Kernels::PLAIN,
            "default" => Kernels::DEFAULT,
            _ => return None,
        };
        for p in parts {
            let (on, name) = p.strip_prefix('-').map_or((true, p), |n| (false, n));
            match name {
                "winograd" => k.winograd = on,
                "winograd4" => k.winograd4 = on,
                "shift" => k.shift = on,
                "syrk" => k.syrk = on,
                _ => return None,
            }
        }
        Some(k)
    }
}

/// Use these kernels from now on, process-wide.
pub fn set(k: Kernels) {
    WINOGRAD.store(k.winograd, Ordering::Relaxed);
    WINOGRAD4.store(k.winograd4, Ordering::Relaxed);
    SHIFT.store(k.shift, Ordering::Relaxed);
    SYRK.store(k.syrk, Ordering::Relaxed);
    F4_MIN_TILES.store(k.f4_min_tiles, Ordering::Relaxed);
}

/// The kernels in use.
pub fn current() -> Kernels {
    Kernels {
        winograd: WINOGRAD.load(Ordering::Relaxed),
        winograd4: WINOGRAD4.load(Ordering::Relaxed),
        shift: SHIFT.load(Ordering::Relaxed),
        syrk: SYRK.load(Ordering::Relaxed),
        f4_min_tiles: F4_MIN_TILES.load(Ordering::Relaxed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_starts_with_the_default_kernels() {
        // No unit test of this library calls `set`, so this is the state every process starts in.
        assert_eq!(current(), Kernels::DEFAULT);
    }
}
