//! Values every thread reads and counts references on (the token, the tower layer's shared
//! state), kept as several equal handles on cache lines of their own: each thread uses one, so
//! that a clone and a drop on one thread do not write a line that other threads write too.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many handles a [`PerThread`] keeps.
pub(crate) const SLOTS: usize = 16;

thread_local! {
    /// Which handle this thread uses, assigned round-robin on first use.
    static SLOT: usize = {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed) % SLOTS
    };
}

/// [`SLOTS`] equal handles to values made alike, each its own allocation. Clones share the
/// handles.
pub(crate) struct PerThread<T>(Arc<[Arc<T>]>);

impl<T> PerThread<T> {
    /// The handles, each to a value `make` returns.
    pub(crate) fn new(mut make: impl FnMut() -> T) -> Self {
        // Two handles' reference counts (at the start of their allocations) never share a
        // cache line only if each allocation is aligned to, and a multiple of, a line pair
        // (adjacent-line prefetch pulls lines in twos).
        const { assert!(std::mem::align_of::<T>() >= 128) };
        Self((0..SLOTS).map(|_| Arc::new(make())).collect())
    }

    /// The calling thread's handle.
    #[inline]
    pub(crate) fn mine(&self) -> &Arc<T> {
        &self.0[SLOT.with(|s| *s)]
    }

    /// All the handles.
    #[cfg(test)]
    pub(crate) fn each(&self) -> &[Arc<T>] {
        &self.0
    }

    /// Whether `self` and `other` share their handles.
    #[cfg(test)]
    pub(crate) fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> Clone for PerThread<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}
