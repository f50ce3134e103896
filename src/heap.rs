//! The process's allocator settings: freed feature maps and Gram matrices are kept for the next evaluation.

/// Serve large allocations from the heap and keep freed memory there (up to 1 GiB at its top),
/// so the feature maps and Gram matrices each evaluation frees are reused by the next one. By
/// default glibc maps every block over 32 MiB afresh and unmaps it on free, and each evaluation
/// then pays a page fault and a page clearing for every 4 KiB it touches (a quarter of the time
/// of one evaluation through a 4096-channel Gram). Call it first thing in `main`, before any
/// thread starts; elsewhere than glibc it does nothing.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters, and no other thread allocates yet.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}
