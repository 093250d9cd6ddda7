//! AFL target: `afpool_fuzz::request_frame` on each input.

fn main() {
    afl::fuzz!(|data: &[u8]| afpool_fuzz::request_frame(data));
}
