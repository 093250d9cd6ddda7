//! Stable stand-in ObjectIds for pools that have none (the file store): 24 hex digits derived
//! from the pool name only, so a pool keeps its `_id` across restarts, afpool versions and
//! machines, and renaming a pool gives it a new one (as a legacy client would expect of a
//! different pool). FNV-1a, not `std`'s hasher, whose output may change between Rust releases.

/// FNV-1a 64-bit offset basis and prime.
const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// 24 lowercase hex digits (12 bytes) for the pool `name`.
pub fn synthesise(name: &str) -> String {
    let high = fnv1a(OFFSET, name.as_bytes());
    // A second pass over a salted input gives 32 more independent bits.
    let low = fnv1a(high, b"afpool legacy _id") as u32;
    format!("{high:016x}{low:08x}")
}

fn fnv1a(seed: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(seed, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("")]
    #[case("comp")]
    #[case("lighting")]
    #[case("Ünïcode pool")]
    fn is_24_lowercase_hex_and_stable(#[case] name: &str) {
        let id = synthesise(name);
        assert_eq!(id.len(), 24);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(id, synthesise(name));
    }

    #[test]
    fn known_value_never_changes() {
        // FNV-1a 64 of "" is the offset basis itself.
        assert!(synthesise("").starts_with("cbf29ce484222325"));
    }

    #[test]
    fn different_names_get_different_ids() {
        let ids: std::collections::HashSet<String> =
            (0..1000).map(|i| synthesise(&format!("pool{i}"))).collect();
        assert_eq!(ids.len(), 1000);
        assert_ne!(synthesise("Comp"), synthesise("comp"));
    }
}
