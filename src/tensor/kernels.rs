//! Which fast kernels run (Winograd, shifted 1D products, symmetric Gram), set once per process.
//!
//! By default only the symmetric Gram runs: on the 2-core AVX2 machine measured, Winograd lost to
//! im2col end to end in 2D and 3D and the shifted products did not measurably win in 1D.

use std::sync::atomic::{AtomicBool, Ordering};

static WINOGRAD: AtomicBool = AtomicBool::new(false);
static WINOGRAD4: AtomicBool = AtomicBool::new(false);
static SHIFT: AtomicBool = AtomicBool::new(false);
static SYRK: AtomicBool = AtomicBool::new(true);

/// The fast kernels to use where they apply; the others fall back to im2col and the full Gram
/// product. For measuring each against the plain path in one binary: results agree to rounding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kernels {
    /// Winograd for 3-tap stride-1 layers in 2D and 3D.
    pub winograd: bool,
    /// Winograd with F(4,3)^N tiles (fewer products, more rounding) instead of F(2,3)^N.
    pub winograd4: bool,
    /// One product per tap on shifted views for wide 1D stride-1 layers.
    pub shift: bool,
    /// The Gram matrix as a symmetric rank-k update.
    pub syrk: bool,
}

impl Kernels {
    /// Every fast kernel.
    pub const ALL: Kernels = Kernels { winograd: true, winograd4: true, shift: true, syrk: true };
    /// The default: the symmetric Gram only.
    pub const DEFAULT: Kernels = Kernels { winograd: false, winograd4: false, shift: false, syrk: true };
    /// None: im2col convolution and full Gram products only.
    pub const PLAIN: Kernels = Kernels { winograd: false, winograd4: false, shift: false, syrk: false };

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
}

/// The kernels in use.
pub fn current() -> Kernels {
    Kernels {
        winograd: WINOGRAD.load(Ordering::Relaxed),
        winograd4: WINOGRAD4.load(Ordering::Relaxed),
        shift: SHIFT.load(Ordering::Relaxed),
        syrk: SYRK.load(Ordering::Relaxed),
    }
}
