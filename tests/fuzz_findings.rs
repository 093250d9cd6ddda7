//! What fuzzing found (`fixtures/fuzz/route/`), replayed in the test command: `fuzz/` replays the
//! same inputs through the AFL targets, but only with cargo-afl. Routing these inputs on the fuzz
//! targets' snapshot must not panic, a routed body must route again to the same bytes, and a job
//! whose masks take more than one step budget to evaluate on the pool's hosts is refused (not
//! evaluated host after host, each just under the budget).

use afpool::job::{route_submission, Inventory, RouteSettings};
use afpool::renders::RenderInfo;
use afpool::store::Pool;

/// The snapshot of `fuzz/src/lib.rs`.
fn inventory() -> Inventory {
    let pools = vec![
        Pool::new("cpu", ["Render01", "render02", "render03"]),
        Pool::new("gpu", ["gpu.node3", "gpu.node4"]),
        Pool::new("empty", Vec::<String>::new()),
    ];
    let renders = ["render01", "render02", "render03", "gpu.node3", "r1", "r10"]
        .iter()
        .map(|n| RenderInfo::named(n))
        .collect();
    Inventory::new(pools, renders)
}

fn findings() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/fuzz/route");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

#[test]
fn routing_the_findings_is_idempotent() {
    let (inv, settings) = (inventory(), RouteSettings::default());
    let found = findings();
    assert!(found.len() >= 5, "the findings are in fixtures/fuzz/route");
    for (name, data) in found {
        let Some(Ok(first)) = route_submission(&data, &settings, &inv) else {
            continue;
        };
        let body = first.body.to_vec();
        let again = route_submission(&body, &settings, &inv);
        let Some(Ok(second)) = again else {
            panic!("{name}: the routed body does not route again");
        };
        assert_eq!(second.body.to_vec(), body, "{name}: not idempotent");
        assert_eq!(
            second.outcome.pool,
            first.outcome.pool.map(|mut p| {
                p.source = afpool::job::PoolSource::RoutedMark;
                p
            }),
            "{name}: the second pass chose another pool"
        );
    }
}

#[test]
fn masks_too_costly_across_the_pools_hosts_are_refused() {
    let (inv, settings) = (inventory(), RouteSettings::default());
    for (name, data) in findings()
        .into_iter()
        .filter(|(n, _)| n.starts_with("hang-"))
    {
        match route_submission(&data, &settings, &inv) {
            Some(Err(e)) => assert!(e.to_string().contains("too complex"), "{name}: {e}"),
            other => panic!("{name}: {:?}", other.map(|o| o.map(|o| o.outcome.verdict))),
        }
    }
}
