//! AFL target: `afpool_fuzz::legacy_request` on each input (`--features legacy`).

fn main() {
    afl::fuzz!(|data: &[u8]| afpool_fuzz::legacy_request(data));
}
