//! Table tests of scheduled members at a fixed `now`: who is in, the next edge, and what
//! `members` says.

use std::collections::BTreeMap;

use super::*;
use crate::select::facts::RenderFacts;
use crate::store::Selection;
use jiff::civil::date;

fn berlin() -> TimeZone {
    TimeZone::get("Europe/Berlin").unwrap()
}

/// `y-m-d h:m` on Berlin's wall clock; 2026-12-07 is a Monday.
fn at(d: i8, h: i8, m: i8) -> Timestamp {
    berlin()
        .to_timestamp(date(2026, 12, d).at(h, m, 0, 0))
        .unwrap()
}

fn farm() -> Vec<RenderInfo> {
    let gpu = |name: &str| RenderInfo {
        facts: RenderFacts {
            gpu_mem_total_mb: 24576,
            ..RenderFacts::default()
        },
        ..RenderInfo::named(name)
    };
    vec![gpu("gpu01"), gpu("gpu02"), RenderInfo::named("ws-1")]
}

fn during(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(k, w)| (k.to_string(), vec![w.to_string()]))
        .collect()
}

/// ws-1 renders at night, ws-2 always; the big GPUs on weekends, gpu02 also Monday 10-12.
fn night() -> Pool {
    Pool::new("night", ["ws-1", "ws-2"]).with_selection(Selection {
        select: Some("gpu_mem_total_mb >= 20000".into()),
        during: during(&[
            ("ws-1", "Mon-Fri 19:00-07:00"),
            ("*", "Sat,Sun"),
            ("GPU02", "Mon 10:00-12:00"),
        ]),
        time_zone: Some("Europe/Berlin".into()),
        ..Selection::default()
    })
}

#[test]
fn members_follow_their_windows() {
    let cases: &[(Timestamp, &[&str], Timestamp)] = &[
        (at(7, 9, 0), &["ws-2"], at(7, 10, 0)),
        (at(7, 10, 0), &["ws-2", "gpu02"], at(7, 12, 0)),
        (at(7, 12, 0), &["ws-2"], at(7, 19, 0)),
        (at(7, 19, 0), &["ws-1", "ws-2"], at(8, 7, 0)),
        (at(12, 6, 0), &["ws-1", "ws-2", "gpu01"], at(12, 7, 0)),
        (at(12, 7, 0), &["ws-2", "gpu01"], at(14, 0, 0)),
        (at(14, 0, 0), &["ws-2"], at(14, 10, 0)),
    ];
    let pools = [night(), Pool::new("typed", ["r1"])];
    let mut resolver = Resolver::with_zone(TimeZone::UTC);
    for (now, want, edge) in cases {
        let got = resolver.resolve(&pools, &farm(), *now);
        assert_eq!(got[0].hosts, *want, "at {now}");
        assert_eq!(got[1], pools[1], "a typed list is returned as stored");
        assert_eq!(resolver.next_edge(), Some(*edge), "at {now}");
    }
}

#[test]
fn the_next_edge_is_the_first_across_pools_in_their_zones() {
    let in_zone = |name: &str, zone: Option<&str>, window: &str| {
        Pool::new(name, ["ws-1"]).with_selection(Selection {
            during: during(&[("ws-1", window)]),
            time_zone: zone.map(str::to_string),
            ..Selection::default()
        })
    };
    let pools = [
        in_zone("berlin", Some("Europe/Berlin"), "19:00-07:00"),
        in_zone("local", None, "19:00-07:00"),
        in_zone("always", None, "00:00-24:00"),
    ];
    let noon_utc: Timestamp = "2026-12-07T12:00:00Z".parse().unwrap();
    let mut resolver = Resolver::with_zone(TimeZone::get("America/New_York").unwrap());
    let got = resolver.resolve(&pools, &[], noon_utc);
    let hosts: Vec<usize> = got.iter().map(|p| p.hosts.len()).collect();
    assert_eq!(
        hosts,
        [0, 0, 1],
        "07:00 in New York: the night window has just shut"
    );
    // Berlin's 19:00 (18:00Z) comes before New York's (00:00Z).
    assert_eq!(
        resolver.next_edge().unwrap().to_string(),
        "2026-12-07T18:00:00Z"
    );
    let none = resolver.resolve(&pools[2..], &[], noon_utc);
    assert_eq!(none[0].hosts, ["ws-1"]);
    assert_eq!(
        resolver.next_edge(),
        None,
        "a window that never shuts has no edge"
    );
}

#[test]
fn unreadable_stored_windows_keep_their_members_out() {
    let mut pool = night();
    pool.selection.time_zone = Some("Mars/Olympus".into());
    let got = Resolver::new().resolve(std::slice::from_ref(&pool), &farm(), at(12, 6, 0));
    assert_eq!(
        got[0].hosts,
        ["ws-2"],
        "a zone jiff does not know: windowed hosts out"
    );
    let mut pool = night();
    pool.selection
        .during
        .insert("ws-2".into(), vec!["Mon-Fry".into()]);
    let got = Resolver::with_zone(berlin()).resolve(&[pool], &farm(), at(7, 19, 0));
    assert_eq!(
        got[0].hosts,
        ["ws-1"],
        "a window that does not parse keeps ws-2 out"
    );
}

#[test]
fn members_say_when_they_join_or_leave() {
    let got = members_in(
        &Resolver::with_zone(TimeZone::UTC),
        &night(),
        &farm(),
        at(7, 20, 0),
    );
    let rows: Vec<_> = got
        .iter()
        .map(|m| {
            let next = m.next_change_short.as_deref().unwrap_or("-");
            (m.host.as_str(), m.why.as_str(), m.member_now, next)
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("ws-1", "static", true, "Tue 07:00 CET"),
            ("ws-2", "static", true, "-"),
            ("gpu01", "gpu_mem_total_mb=24576", false, "Sat 00:00 CET"),
            ("gpu02", "gpu_mem_total_mb=24576", false, "Mon 10:00 CET"),
        ]
    );
    assert_eq!(got[0].during, ["Mon-Fri 19:00-07:00"]);
    assert_eq!(got[2].during, ["Sat,Sun"]);
    assert_eq!(
        got[3].during,
        ["Mon 10:00-12:00"],
        "its own windows, not the selected ones'"
    );
    let json = serde_json::to_value(&got[0]).unwrap();
    assert_eq!(
        json["next_change"],
        "2026-12-08T07:00:00+01:00[Europe/Berlin]"
    );
    assert_eq!(json["member_now"], true);
    assert!(serde_json::to_value(&got[1])
        .unwrap()
        .get("during")
        .is_none());
}
