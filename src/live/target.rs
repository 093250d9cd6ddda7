//! A live job's masks for a pool, computed by the same routing as a submission: the user's own
//! masks (from the registry, or as edited) go into a minimal job that names the pool with
//! afpool's routed mark, left out when an edited mask holds a `pool:NAME` token: the token moves
//! the job, and `pool:none` releases it. Pure: no I/O.

use serde_json::json;

use crate::job::{self, Inventory, PoolSource, RouteSettings, Verdict, ROUTED_KEY};
use crate::shared_str::SharedStr;
use crate::store::registry::JobMasks;

/// The token value that releases a job from its pool (`pool:none`).
pub const RELEASE: &str = "none";

/// What a job's masks become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Computed {
    /// In pool `pool` with these masks.
    Routed {
        /// The pool (changed when the user's masks named another one).
        pool: String,
        /// The masks to write.
        masks: JobMasks,
    },
    /// The pool is gone (or empty) and the policy holds the job: these fenced masks, paused.
    Held {
        /// The pool named.
        pool: String,
        /// The fenced masks to write.
        masks: JobMasks,
        /// Why, in words.
        reason: String,
    },
    /// Out of any pool: the user's own masks, tokens removed.
    Released {
        /// The masks to write.
        masks: JobMasks,
    },
    /// Routing refused the masks (e.g. they leave none of the pool's hosts).
    Refused(String),
}

/// `masks` with every `pool:NAME` token removed.
pub fn without_tokens(masks: &JobMasks) -> JobMasks {
    let strip = |m: &Option<SharedStr>| m.as_ref().map(|m| job::strip_tokens(m).0.into());
    JobMasks {
        hosts_mask: strip(&masks.hosts_mask),
        hosts_mask_exclude: strip(&masks.hosts_mask_exclude),
        hosts_mask_type: masks.hosts_mask_type.clone(),
    }
}

/// A minimal submission of a job with `user` masks, in `pool` (routed mark) or with the job key
/// `pool` set to `key` when given. The mark outranks tokens when routing, so it is left out when
/// the masks hold a `pool:NAME` token: the token moves the job.
fn synthetic(user: &JobMasks, name: &str, owner: &str, mark: &str, key: Option<&str>) -> Vec<u8> {
    let mut job = json!({
        "name": name,
        "user_name": owner,
        "blocks": [{"name": "b", "flags": 1, "frame_first": 1, "frame_last": 1, "command": "x"}],
    });
    let has_token = [&user.hosts_mask, &user.hosts_mask_exclude]
        .into_iter()
        .flatten()
        .any(|m| !job::strip_tokens(m).1.is_empty());
    if !has_token {
        job[ROUTED_KEY] = json!(mark);
    }
    let fields = [
        ("hosts_mask", &user.hosts_mask),
        ("hosts_mask_exclude", &user.hosts_mask_exclude),
        ("hosts_mask_type", &user.hosts_mask_type),
    ];
    for (key, value) in fields {
        if let Some(v) = value {
            job[key] = json!(v);
        }
    }
    if let Some(pool) = key {
        job["pool"] = json!(pool);
    }
    serde_json::to_vec(&json!({ "job": job })).expect("a JSON value serialises")
}

/// The masks job `name` of `owner` gets in `pool` with the user's masks `user` (which may hold a
/// `pool:NAME` token that moves it, or `pool:none` that releases it).
pub fn compute(
    user: &JobMasks,
    name: &str,
    owner: &str,
    pool: &str,
    settings: &RouteSettings,
    inv: &Inventory,
) -> Computed {
    let body = synthetic(user, name, owner, pool, None);
    let outcome = match job::route_as(&body, settings, inv, job::Admission::Live) {
        Ok(outcome) => outcome,
        Err(rejection) => return Computed::Refused(rejection.to_string()),
    };
    let by_token = outcome.pool.as_ref().is_some_and(|c| {
        matches!(
            c.source,
            PoolSource::HostsMaskToken | PoolSource::HostsMaskExcludeToken
        ) && c.name.eq_ignore_ascii_case(RELEASE)
    });
    if by_token {
        return released(user, settings);
    }
    let masks = JobMasks::of(&outcome.explain.masks_after);
    let named = outcome.pool.map(|c| c.name).unwrap_or_default();
    match outcome.verdict {
        Verdict::Routed => Computed::Routed { pool: named, masks },
        Verdict::Held => Computed::Held {
            pool: named,
            masks,
            reason: outcome.explain.reason,
        },
        Verdict::Passed | Verdict::NoPool => released(user, settings),
    }
}

/// Out of the pool: the user's own masks (tokens removed) with every field set, so that none of
/// afpool's pool masks stays on the job.
fn released(user: &JobMasks, settings: &RouteSettings) -> Computed {
    let user = without_tokens(user);
    let kind = match settings.assume_mask_type {
        job::MaskType::Regex => "regex",
        job::MaskType::Find => "find",
    };
    Computed::Released {
        masks: JobMasks {
            hosts_mask: Some(user.hosts_mask.unwrap_or_default()),
            hosts_mask_exclude: Some(user.hosts_mask_exclude.unwrap_or_default()),
            hosts_mask_type: Some(user.hosts_mask_type.unwrap_or_else(|| kind.into())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Pool;
    use rstest::rstest;

    fn inventory() -> Inventory {
        let pools = vec![
            Pool::new("gpu", ["gpu.node3", "render01"]),
            Pool::new("cpu", ["r1", "r10"]),
        ];
        Inventory::new(pools, Vec::new())
    }

    fn masks(mask: Option<&str>, exclude: Option<&str>) -> JobMasks {
        JobMasks {
            hosts_mask: mask.map(SharedStr::new),
            hosts_mask_exclude: exclude.map(SharedStr::new),
            hosts_mask_type: None,
        }
    }

    fn routed(c: &Computed) -> (&str, &JobMasks) {
        match c {
            Computed::Routed { pool, masks } => (pool, masks),
            other => panic!("not routed: {other:?}"),
        }
    }

    #[rstest]
    #[case(masks(None, None), "gpu")]
    #[case(masks(Some("pool:cpu"), None), "cpu")]
    #[case(masks(None, Some("pool:cpu")), "cpu")]
    fn the_pool_comes_from_a_token_else_the_registry(#[case] user: JobMasks, #[case] want: &str) {
        let settings = RouteSettings::default();
        let got = compute(&user, "shot", "ann", "gpu", &settings, &inventory());
        let (pool, written) = routed(&got);
        assert_eq!(pool, want);
        assert_eq!(written.hosts_mask_type.as_deref(), Some("regex"));
        let exclude = written.hosts_mask_exclude.as_deref().unwrap();
        assert!(!exclude.contains("pool:"), "{exclude}");
    }

    #[test]
    fn the_same_user_masks_give_the_same_masks_again() {
        let settings = RouteSettings::default();
        let user = masks(Some("render"), None);
        let first = compute(&user, "a", "ann", "gpu", &settings, &inventory());
        let (_, written) = routed(&first);
        let again = compute(written, "a", "ann", "gpu", &settings, &inventory());
        assert_eq!(first, again, "afpool's own pool part is recognised");
    }

    #[rstest]
    #[case(masks(Some("pool:none"), None), "")]
    #[case(masks(Some("r1|pool:none"), None), "r1")]
    fn pool_none_releases(#[case] user: JobMasks, #[case] want: &str) {
        let settings = RouteSettings::default();
        let got = compute(&user, "a", "ann", "gpu", &settings, &inventory());
        let masks = JobMasks {
            hosts_mask: Some(want.into()),
            hosts_mask_exclude: Some("".into()),
            hosts_mask_type: Some("find".into()),
        };
        assert_eq!(got, Computed::Released { masks });
    }

    #[test]
    fn masks_outside_the_pool_are_refused_and_a_gone_pool_holds() {
        let settings = RouteSettings::default();
        let user = masks(Some("r1"), None);
        let got = compute(&user, "a", "ann", "gpu", &settings, &inventory());
        assert!(
            matches!(got, Computed::Refused(_) | Computed::Held { .. }),
            "{got:?}"
        );
        let got = compute(
            &masks(None, None),
            "a",
            "ann",
            "gone",
            &settings,
            &inventory(),
        );
        assert!(matches!(got, Computed::Held { .. }), "{got:?}");
    }
}
