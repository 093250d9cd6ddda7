//! AFL target: `afpool_fuzz::route` on each input, against one fixed pool snapshot.

fn main() {
    let inv = afpool_fuzz::inventory();
    afl::fuzz!(|data: &[u8]| afpool_fuzz::route(data, &inv));
}
