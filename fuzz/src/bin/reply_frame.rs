//! AFL target: `afpool_fuzz::reply_frame` on each input.

fn main() {
    afl::fuzz!(|data: &[u8]| afpool_fuzz::reply_frame(data));
}
