//! The default pool rules against the pools and the routing settings, pure: rules that do not
//! compile (every job naming no pool is then held), rules or an otherwise naming no pool (their
//! jobs follow on_unknown_pool), and a `default_pool` that stored rules make unused.

use super::Check;
use crate::job::RouteSettings;
use crate::store::rules::{DefaultRules, Otherwise};
use crate::store::rules_change::otherwise_words;
use crate::store::Pool;

/// The stored rules of the store `spec` (`Err`: why they cannot be read).
pub async fn read(
    spec: &crate::secret::SecretUri,
    options: &crate::store::StoreOptions,
) -> Result<Option<DefaultRules>, String> {
    let store = crate::store::open_with(spec.expose(), options)
        .await
        .map_err(|e| e.to_string())?;
    store.rules().await.map_err(|e| e.to_string())
}

/// Every rules check (none when no rules are stored).
pub fn checks(
    pools: &[Pool],
    rules: Option<&DefaultRules>,
    settings: &RouteSettings,
) -> Vec<Check> {
    let Some(rules) = rules else {
        return Vec::new();
    };
    if let Err(e) = rules.compile() {
        return vec![Check::fail(
            "default rules",
            format!("{e}: every job naming no pool is held"),
            "fix or remove the rule: afpool rules list, afpool rules remove N",
        )];
    }
    let n = rules.rules.len();
    let mut checks = vec![Check::ok(
        "default rules",
        format!(
            "{n} rule{}, otherwise {}",
            if n == 1 { "" } else { "s" },
            otherwise_words(&rules.otherwise)
        ),
    )];
    let is_pool = |name: &str| pools.iter().any(|p| p.name == name);
    let named = rules
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("rule {}", i + 1), &r.pool));
    let otherwise = match &rules.otherwise {
        Otherwise::Pool(p) => Some(("otherwise".to_string(), p)),
        _ => None,
    };
    for (which, pool) in named.chain(otherwise) {
        if !is_pool(pool) {
            checks.push(Check::warn(
                "default rules",
                format!(
                    "{which} sends jobs to '{pool}', which is not a pool: they follow \
                     on_unknown_pool"
                ),
                format!("afpool pool create {pool} HOST..., or change the rule"),
            ));
        }
    }
    let kept = |p: &String| rules.otherwise == Otherwise::Pool(p.clone());
    if let Some(p) = settings.default_pool.as_ref().filter(|p| !kept(p)) {
        checks.push(Check::warn(
            "default pool",
            format!("default_pool '{p}' is not used while default pool rules are stored"),
            format!("afpool rules otherwise {p} (keeps it for jobs matching no rule), then remove default_pool"),
        ));
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::rules::Rule;

    fn words(checks: &[Check]) -> Vec<String> {
        checks.iter().map(|c| c.detail.clone()).collect()
    }

    #[test]
    fn rules_are_checked_against_pools_and_settings() {
        let pools = [Pool::new("comp", ["r1"])];
        let rules = DefaultRules {
            rules: vec![
                Rule {
                    when: "'nuke' in services".into(),
                    pool: "comp".into(),
                },
                Rule {
                    when: "true".into(),
                    pool: "lighting".into(),
                },
            ],
            otherwise: Otherwise::Pool("farm".into()),
        };
        let settings = RouteSettings {
            default_pool: Some("night".into()),
            ..Default::default()
        };
        assert!(checks(&pools, None, &settings).is_empty());
        assert_eq!(
            words(&checks(&pools, Some(&rules), &settings)),
            [
                "2 rules, otherwise pool 'farm'",
                "rule 2 sends jobs to 'lighting', which is not a pool: they follow on_unknown_pool",
                "otherwise sends jobs to 'farm', which is not a pool: they follow on_unknown_pool",
                "default_pool 'night' is not used while default pool rules are stored",
            ]
        );
        // A default_pool kept as the otherwise is in use.
        let kept = RouteSettings {
            default_pool: Some("farm".into()),
            ..Default::default()
        };
        assert_eq!(checks(&pools, Some(&rules), &kept).len(), 3);
        let mut broken = rules.clone();
        broken.rules[0].when = "services.exists(".into();
        let got = checks(&pools, Some(&broken), &RouteSettings::default());
        assert_eq!(got.len(), 1);
        assert!(
            got[0].detail.starts_with("rule 1: condition"),
            "{}",
            got[0].detail
        );
    }
}
