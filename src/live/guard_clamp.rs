//! The guard's clamps, pure: an `action` on a registered pool job whose `params` set a value the
//! pool limits (`priority`, `max_running_tasks`, `max_running_tasks_per_host`, `time_life`, the
//! job's `need_memory`; for a block edit `capacity`, `need_memory`, `max_running_tasks*`) past
//! the pool's maximum, or to "no limit", is lowered to it exactly as a submission would be (an
//! expression's pools: the lowest maximum). Everything else in the edit is left alone.

use serde_json::{Map, Value};

use crate::job::policy::LimitKey;
use crate::job::Inventory;

/// The keys an edit of a job (`block == false`) or of its blocks may set that a pool limits.
fn keys(block: bool) -> impl Iterator<Item = LimitKey> {
    LimitKey::ALL.into_iter().filter(move |k| {
        let info = k.info();
        match block {
            true => info.block || info.in_blocks_too,
            false => !info.block || info.in_job_too,
        }
    })
}

/// Cheap pre-check on the raw body: an `action` naming a key a pool may limit.
pub(crate) fn might_set_limits(body: &[u8]) -> bool {
    let has = |needle: &[u8]| memchr::memmem::find(body, needle).is_some();
    has(b"\"action\"") && LimitKey::ALL.iter().any(|k| has(k.name().as_bytes()))
}

/// True when `params` set a key the guard may clamp.
pub(crate) fn mentions_limits(params: &Map<String, Value>, block: bool) -> bool {
    keys(block).any(|k| params.contains_key(k.name()))
}

/// The lowest maximum the pools of `pool` (a pool or an expression) put on `key`.
fn max_of(inv: &Inventory, pool: &str, key: LimitKey) -> Option<i64> {
    inv.policy_pools(pool)
        .iter()
        .filter_map(|p| inv.policy(p)?.policy().limits.get(&key)?.max)
        .min()
}

/// Lowers every value of `params` over pool `pool`'s maximum; each clamp as `key from→to`.
pub(crate) fn clamp(
    params: &mut Map<String, Value>,
    pool: &str,
    inv: &Inventory,
    block: bool,
) -> Vec<String> {
    let mut done = Vec::new();
    for key in keys(block) {
        let info = key.info();
        let Some(set) = params.get(info.name).and_then(Value::as_i64) else {
            continue;
        };
        let Some(max) = max_of(inv, pool, key) else {
            continue;
        };
        let unlimited = info.negative_unlimited && set < 0;
        if unlimited || set > max {
            params.insert(info.name.to_string(), Value::from(max));
            done.push(format!("{} {set}→{max}", info.name));
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::policy::PoolPolicy;
    use crate::store::Pool;
    use serde_json::json;

    fn inv() -> Inventory {
        let limits: PoolPolicy = serde_json::from_value(json!({"limits": {
            "priority": {"max": 150}, "max_running_tasks": {"max": 8},
            "capacity": {"max": 2000}, "need_memory": {"max": 100}}}))
        .unwrap();
        let strict: PoolPolicy =
            serde_json::from_value(json!({"limits": {"priority": {"max": 90}}})).unwrap();
        let pools = vec![
            Pool {
                policy: limits,
                ..Pool::new("lighting", ["r1"])
            },
            Pool {
                policy: strict,
                ..Pool::new("night", ["r2"])
            },
            Pool::new("free", ["r3"]),
        ];
        Inventory::new(pools, Vec::new())
    }

    #[test]
    fn values_over_the_max_are_lowered() {
        // (pool, block edit, params, params after, clamps)
        type Row = (&'static str, bool, Value, Value, &'static [&'static str]);
        let rows: Vec<Row> = vec![
            (
                "lighting",
                false,
                json!({"priority": 250}),
                json!({"priority": 150}),
                &["priority 250→150"],
            ),
            (
                "lighting",
                false,
                json!({"priority": 120}),
                json!({"priority": 120}),
                &[],
            ),
            (
                "lighting",
                false,
                json!({"max_running_tasks": -1, "annotation": "x"}),
                json!({"max_running_tasks": 8, "annotation": "x"}),
                &["max_running_tasks -1→8"],
            ),
            (
                "lighting",
                false,
                json!({"capacity": 9000}),
                json!({"capacity": 9000}),
                &[],
            ),
            (
                "lighting",
                false,
                json!({"need_memory": 9000}),
                json!({"need_memory": 100}),
                &["need_memory 9000→100"],
            ),
            (
                "lighting",
                true,
                json!({"capacity": 9000}),
                json!({"capacity": 2000}),
                &["capacity 9000→2000"],
            ),
            (
                "lighting|night",
                false,
                json!({"priority": 100}),
                json!({"priority": 90}),
                &["priority 100→90"],
            ),
            (
                "free",
                false,
                json!({"priority": 250}),
                json!({"priority": 250}),
                &[],
            ),
            (
                "gone",
                false,
                json!({"priority": 250}),
                json!({"priority": 250}),
                &[],
            ),
        ];
        let inv = inv();
        for (pool, block, params, want, clamps) in rows {
            let mut got = params.as_object().unwrap().clone();
            let done = clamp(&mut got, pool, &inv, block);
            assert_eq!(Value::Object(got), want, "{pool} {params}");
            assert_eq!(done, clamps, "{pool} {params}");
        }
        assert!(mentions_limits(
            json!({"priority": 1}).as_object().unwrap(),
            false
        ));
        assert!(!mentions_limits(
            json!({"capacity": 1}).as_object().unwrap(),
            false
        ));
    }
}
