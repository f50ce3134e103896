//! Runs a kernel compiled for the widest vector unit the CPU has (AVX-512 with the default `avx512` feature, AVX2+FMA or the baseline), chosen at run time.
//!
//! The crate is built for the baseline target (no `-C target-cpu`), so one binary runs everywhere;
//! loops that the compiler vectorises gain 2–4× when they are compiled again with wider vectors.
//! A kernel's `run` must be `#[inline(always)]`, so that its body is compiled inside the wrappers below.

/// A loop nest to run with the widest vectors available.
pub(crate) trait Kernel {
    /// The work itself (mark it `#[inline(always)]`).
    fn run(self);
}

/// Runs `k` compiled for AVX-512 or AVX2+FMA where the CPU has them, else for the baseline.
pub(crate) fn widest<K: Kernel>(k: K) {
    #[cfg(target_arch = "x86_64")]
    {
        #[cfg(feature = "avx512")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            return unsafe { avx512(k) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            return unsafe { avx2(k) };
        }
    }
    k.run()
}

#[cfg(all(target_arch = "x86_64", feature = "avx512"))]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn avx512<K: Kernel>(k: K) {
    k.run()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<K: Kernel>(k: K) {
    k.run()
}
