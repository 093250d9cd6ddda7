//! AFL target: `afpool_fuzz::envelope` on each input.

fn main() {
    afl::fuzz!(|data: &[u8]| afpool_fuzz::envelope(data));
}
