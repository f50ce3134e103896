//! The process's allocator: large blocks freed by one evaluation are kept and handed to the next.
//!
//! Every evaluation of an objective allocates the same large buffers (feature maps, Gram matrices,
//! gradients) in the same order. glibc serves every block over its mmap threshold (at most
//! 32 MiB, however `mallopt` is called) with a fresh mapping and unmaps it on free, so each
//! evaluation paid a page fault and a page clearing for every 4 KiB it touched, and every unmap of
//! a region both threads had touched paid a TLB shootdown (an inter-processor interrupt, which a
//! virtual machine turns into an exit). Measured on a 2-core AVX-512 Xeon, `audio_1025x1000`
//! spent 9.6 s of 26 s of CPU time in the kernel before this allocator.
//!
//! [`Keep`] wraps the system allocator: a freed block of at least [`MIN_KEPT`] bytes goes into a
//! small table (at most [`KEPT_BYTES`] in all, the least recently freed dropped first), and an
//! allocation of exactly that size and alignment takes it back. Smaller blocks go straight to the
//! system allocator. It is the global allocator of every program that links this library.
//!
//! Kept blocks count in the resident memory. Where the sizes asked for change (the targets'
//! capture is done, a pyramid level ends), [`release`] returns them all, so blocks nobody asks for
//! any more do not add to the peak. (Returning kept blocks whenever an allocation finds none of
//! its size was tried: one recurring miss per evaluation, such as a gradient the optimiser keeps,
//! then flushed the blocks the rest of the evaluation needed, and 16 900 page faults came back.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;

/// Smallest block that is kept on free (smaller ones are the system allocator's business).
pub const MIN_KEPT: usize = 1 << 20;
/// Most bytes kept at once; a block larger than this is never kept.
pub const KEPT_BYTES: usize = 1 << 30;
/// Most blocks kept at once.
const SLOTS: usize = 256;

/// A kept block: its address, size and alignment, and when it was freed (for eviction).
#[derive(Clone, Copy)]
struct Slot {
    ptr: usize,
    size: usize,
    align: usize,
    freed: u64,
}

const EMPTY: Slot = Slot { ptr: 0, size: 0, align: 0, freed: 0 };

struct Table {
    slots: [Slot; SLOTS],
    bytes: usize,
    clock: u64,
}

static TABLE: Mutex<Table> = Mutex::new(Table { slots: [EMPTY; SLOTS], bytes: 0, clock: 0 });

/// The system allocator with large freed blocks kept for reuse (see the module documentation).
pub struct Keep;

#[global_allocator]
static GLOBAL: Keep = Keep;

fn table() -> std::sync::MutexGuard<'static, Table> {
    // Nothing panics while the lock is held, but a poisoned table is still consistent.
    TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

impl Table {
    /// Take a kept block of exactly this size and alignment.
    fn take(&mut self, l: Layout) -> Option<*mut u8> {
        let s = self.slots.iter_mut().find(|s| s.ptr != 0 && s.size == l.size() && s.align == l.align())?;
        let ptr = s.ptr as *mut u8;
        self.bytes -= s.size;
        *s = EMPTY;
        Some(ptr)
    }

    /// Remove the least recently freed block into `evicted[n]`; false when none is kept.
    fn evict_oldest(&mut self, evicted: &mut [Slot; SLOTS], n: &mut usize) -> bool {
        let Some(oldest) = self.slots.iter_mut().filter(|s| s.ptr != 0).min_by_key(|s| s.freed) else {
            return false;
        };
        evicted[*n] = *oldest;
        *n += 1;
        self.bytes -= oldest.size;
        *oldest = EMPTY;
        true
    }

    /// Keep a block; the blocks it displaces (least recently freed first) are returned to be freed.
    fn keep(&mut self, ptr: *mut u8, l: Layout, evicted: &mut [Slot; SLOTS]) -> usize {
        let mut n = 0;
        while self.bytes + l.size() > KEPT_BYTES || self.slots.iter().all(|s| s.ptr != 0) {
            if !self.evict_oldest(evicted, &mut n) {
                break;
            }
        }
        self.clock += 1;
        let slot = self.slots.iter_mut().find(|s| s.ptr == 0).expect("a slot was freed above");
        *slot = Slot { ptr: ptr as usize, size: l.size(), align: l.align(), freed: self.clock };
        self.bytes += l.size();
        n
    }
}

// SAFETY: every block handed out comes from `System` with the same size and alignment as the
// request (a kept block is reused only for an identical layout), and every block is either kept
// (owned by the table, handed out at most once) or returned to `System` exactly once.
unsafe impl GlobalAlloc for Keep {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if l.size() >= MIN_KEPT {
            if let Some(p) = table().take(l) {
                return p;
            }
        }
        System.alloc(l)
    }

    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        if l.size() >= MIN_KEPT {
            if let Some(p) = table().take(l) {
                std::ptr::write_bytes(p, 0, l.size());
                return p;
            }
        }
        System.alloc_zeroed(l)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, l: Layout) {
        if l.size() < MIN_KEPT || l.size() > KEPT_BYTES {
            return System.dealloc(ptr, l);
        }
        let mut evicted = [EMPTY; SLOTS];
        let n = table().keep(ptr, l, &mut evicted);
        free_all(&evicted[..n]);
    }

    unsafe fn realloc(&self, ptr: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
        if l.size() < MIN_KEPT && new_size < MIN_KEPT {
            return System.realloc(ptr, l, new_size);
        }
        let new = Layout::from_size_align_unchecked(new_size, l.align());
        let p = self.alloc(new);
        if !p.is_null() {
            std::ptr::copy_nonoverlapping(ptr, p, l.size().min(new_size));
            self.dealloc(ptr, l);
        }
        p
    }
}

/// Return blocks taken out of the table to the system.
fn free_all(blocks: &[Slot]) {
    for s in blocks {
        // SAFETY: a kept block came from `System` with exactly this layout, and was removed from
        // the table, so it is freed exactly once.
        unsafe { System.dealloc(s.ptr as *mut u8, Layout::from_size_align_unchecked(s.size, s.align)) };
    }
}

/// Return every kept block to the system: where the sizes asked for change, or before a long idle time.
pub fn release() {
    let mut evicted = [EMPTY; SLOTS];
    let mut n = 0;
    {
        let mut t = table();
        while t.evict_oldest(&mut evicted, &mut n) {}
    }
    free_all(&evicted[..n]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freed_large_block_is_handed_back_zeroed_for_the_same_layout() {
        // A size no other code asks for; another test thread's fresh allocation may still return
        // the kept block to the system in between, so it is tried a few times.
        let l = Layout::from_size_align(MIN_KEPT + 777, 64).unwrap();
        let mut reused = false;
        for _ in 0..20 {
            // SAFETY: blocks of layout `l`, written within bounds, freed once each.
            unsafe {
                let a = Keep.alloc(l);
                std::ptr::write_bytes(a, 0xAB, l.size());
                Keep.dealloc(a, l);
                let b = Keep.alloc_zeroed(l);
                reused |= a == b;
                assert!(std::slice::from_raw_parts(b, l.size()).iter().all(|&v| v == 0), "zeroed");
                Keep.dealloc(b, l);
            }
            if reused {
                break;
            }
        }
        assert!(reused, "a kept block is handed back for the same layout");
    }

    #[test]
    fn realloc_across_the_threshold_keeps_the_contents() {
        let mut v: Vec<u32> = (0..1000).collect();
        v.reserve(MIN_KEPT); // small → large
        v.extend(1000..(MIN_KEPT as u32 / 2));
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as u32));
        v.truncate(10);
        v.shrink_to_fit(); // large → small
        assert_eq!(v, (0..10).collect::<Vec<u32>>());
    }

    #[test]
    fn the_table_evicts_the_least_recently_freed_beyond_its_budget() {
        let mut t = Table { slots: [EMPTY; SLOTS], bytes: 0, clock: 0 };
        let l = Layout::from_size_align(KEPT_BYTES / 2, 64).unwrap();
        let mut ev = [EMPTY; SLOTS];
        assert_eq!(t.keep(8 as *mut u8, l, &mut ev), 0);
        assert_eq!(t.keep(16 as *mut u8, l, &mut ev), 0);
        assert_eq!(t.keep(24 as *mut u8, l, &mut ev), 1);
        assert_eq!(ev[0].ptr, 8, "the oldest block goes first");
        assert_eq!(t.bytes, KEPT_BYTES);
        let mut back = [t.take(l).unwrap() as usize, t.take(l).unwrap() as usize];
        back.sort();
        assert_eq!(back, [16, 24]);
        assert_eq!((t.take(l), t.bytes), (None, 0));
        let other = Layout::from_size_align(2 * MIN_KEPT, 64).unwrap();
        assert_eq!(t.take(other), None, "only an identical layout is reused");
    }
}
