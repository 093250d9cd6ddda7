//! Process memory set-up. glibc gives each thread that meets contention its own malloc arena and
//! keeps what the arena once held: the routing inventory is built on a blocking thread, requests
//! run on the runtime's workers, and after start-up the proxy idled at ~20–23 MB of which ~4–5 MB
//! were such leftovers. afpool allocates little per request, so one arena is enough; measured on
//! `scripts/bench.sh`'s load it costs no throughput (see docs/benchmarks.md). [`trim`] returns
//! what large passes freed.

/// Limits glibc to one malloc arena. Call before any thread is started. A no-op elsewhere, and
/// when `MALLOC_ARENA_MAX` is set (the operator's choice wins).
pub fn one_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes allocator tuning; it is called before other threads exist.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}

/// Hands the heap's free pages back to the system (`malloc_trim(0)`). glibc keeps what a big
/// transient allocation freed: a reconcile reads afserver's job list (tens of MB on a farm of
/// 200,000 jobs) and a routing rebuild copies the render list, and without this the proxy's RSS
/// stays at that high-water mark. Takes milliseconds on a large heap: call it off the workers,
/// after such a pass. A no-op off glibc.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's own heap.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// [`trim`] on a blocking thread.
pub async fn trim_off_workers() {
    let _ = tokio::task::spawn_blocking(trim).await;
}
