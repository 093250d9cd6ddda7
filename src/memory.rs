//! Process memory set-up. glibc gives each thread that meets contention its own malloc arena and
//! keeps what the arena once held: the routing inventory is built on a blocking thread, requests
//! run on the runtime's workers, and after start-up the proxy idled at ~20–23 MB of which ~4–5 MB
//! were such leftovers. afpool allocates little per request, so one arena is enough; measured on
//! `scripts/bench.sh`'s load it costs no throughput (see docs/benchmarks.md).

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
