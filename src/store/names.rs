//! Validation and comparison rules for pool and host names, shared by every backend so the
//! file store and the MongoDB store accept and reject exactly the same input.
//!
//! Host names are trimmed, must match `[A-Za-z0-9._-]+`, are stored as given and compared
//! ASCII case-insensitively. Pool names are kept exactly as given (case-sensitive, as in the
//! legacy tool) but must be non-empty, carry no surrounding whitespace, no `|` and no control
//! characters, none of the expression operators `& ! ( )`, and must not be the legacy sentinel `Don't use pool.`.

use super::StoreError;

/// The pseudo-pool that legacy submitters (Blender, AfStarter) show for "no pool".
pub const NO_POOL_SENTINEL: &str = "Don't use pool.";

/// Checks a pool name for create and rename; returns it unchanged when it is acceptable.
pub fn validate_pool_name(name: &str) -> Result<&str, StoreError> {
    let reject = |why: &str| Err(StoreError::InvalidName(name.to_string(), why.to_string()));
    if name.is_empty() {
        return reject("must not be empty");
    }
    if name.trim() != name {
        return reject("must not start or end with whitespace");
    }
    if name.contains('|') {
        return reject("must not contain '|'");
    }
    if let Some(op) = name.chars().find(|c| "&!()".contains(*c)) {
        return reject(&format!(
            "must not contain '{op}' (pool expressions such as gpu&!old use & ! ( ))"
        ));
    }
    if name.chars().any(char::is_control) {
        return reject("must not contain control characters");
    }
    if name == NO_POOL_SENTINEL {
        return reject("is the legacy \"no pool\" sentinel");
    }
    Ok(name)
}

/// Trims one host name and checks it against `[A-Za-z0-9._-]+`.
pub fn validate_host(host: &str) -> Result<String, StoreError> {
    let trimmed = host.trim();
    let reject = |why: &str| Err(StoreError::InvalidHost(host.to_string(), why.to_string()));
    if trimmed.is_empty() {
        return reject("must not be empty");
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if let Some(bad) = trimmed.chars().find(|&c| !ok(c)) {
        return reject(&format!(
            "character {bad:?} is not allowed (use A-Z a-z 0-9 . _ -)"
        ));
    }
    Ok(trimmed.to_string())
}

/// Validates hosts given for create or add: trimmed, checked, de-duplicated case-insensitively
/// (the first spelling wins). Fails on the first bad name.
pub fn validate_hosts(hosts: &[String]) -> Result<Vec<String>, StoreError> {
    let checked = hosts
        .iter()
        .map(|h| validate_host(h))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(dedupe_hosts(checked))
}

/// Host names given for removal: trimmed, non-empty. Removal is deliberately lenient so a
/// malformed name written by an older tool can still be removed.
pub fn hosts_to_remove(hosts: &[String]) -> Result<Vec<String>, StoreError> {
    hosts
        .iter()
        .map(|h| match h.trim() {
            "" => Err(StoreError::InvalidHost(
                h.clone(),
                "must not be empty".into(),
            )),
            t => Ok(t.to_string()),
        })
        .collect()
}

/// True when two host names denote the same host (ASCII case-insensitive).
pub fn same_host(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Drops case-insensitive duplicates, keeping the first spelling and the original order.
pub fn dedupe_hosts(hosts: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for host in hosts {
        if !out.iter().any(|h| same_host(h, &host)) {
            out.push(host);
        }
    }
    out
}

/// The hosts of `wanted` that are not yet in `existing` (case-insensitively).
pub fn missing_hosts(existing: &[String], wanted: &[String]) -> Vec<String> {
    wanted
        .iter()
        .filter(|w| !existing.iter().any(|e| same_host(e, w)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_names() {
        assert!(validate_pool_name("lighting").is_ok());
        assert!(validate_pool_name("GPU farm #2").is_ok());
        for bad in [
            "",
            " x",
            "x ",
            "a|b",
            "a&b",
            "!old",
            "(x)",
            "a\nb",
            NO_POOL_SENTINEL,
        ] {
            assert!(
                matches!(validate_pool_name(bad), Err(StoreError::InvalidName(..))),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn host_names() {
        assert_eq!(
            validate_host("  Render-01.studio_a ").unwrap(),
            "Render-01.studio_a"
        );
        for bad in ["", "   ", "pc 1", "pc|1", "pc*", "hôst", "a(b)"] {
            assert!(
                matches!(validate_host(bad), Err(StoreError::InvalidHost(..))),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn dedupe_keeps_first_spelling() {
        let hosts = ["PC-1", "pc-1", "pc-2", "Pc-2", "pc-3"].map(String::from);
        assert_eq!(dedupe_hosts(hosts), ["PC-1", "pc-2", "pc-3"]);
        let given = [" b ".to_string(), "B".to_string()];
        assert_eq!(validate_hosts(&given).unwrap(), ["b"]);
    }

    #[test]
    fn missing_is_case_insensitive() {
        let existing = ["PC-1".to_string()];
        let wanted = ["pc-1".to_string(), "pc-2".to_string()];
        assert_eq!(missing_hosts(&existing, &wanted), ["pc-2"]);
    }

    #[test]
    fn removal_is_lenient_but_not_empty() {
        assert_eq!(
            hosts_to_remove(&[" odd name ".into()]).unwrap(),
            ["odd name"]
        );
        assert!(hosts_to_remove(&[" ".into()]).is_err());
    }
}
