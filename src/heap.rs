//! Keeps the daemon's resident memory close to what it holds. A big
//! zone's first sync (its transfer, conversion, plan and listing) leaves
//! tens of megabytes free in glibc's heaps, which the daemon would keep
//! resident for its whole life while holding far less.

/// One malloc arena for the whole process, set before any thread starts.
/// glibc gives threads that allocate at once arenas of their own, and the
/// daemon's threads (async workers, the transfer runtime, the blocking
/// pool) then each keep part of a big zone's freed memory: at 100,000
/// records, 67 MB resident with the default arenas, 50 MB with one.
/// Allocation here is light, and NOTIFY -> change request in
/// `benches/daemon.rs` is the same (5 ms) with one arena.
pub fn one_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called first thing
    // in main, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Returns free heap memory to the system when dropped: held through a
/// sync that did whole-zone work, so it runs once that work's data is gone.
pub struct ReleaseOnDrop;

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only trims the allocator's own free memory;
        // it takes no pointer and is safe to call from any thread.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}
