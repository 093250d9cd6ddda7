//! Table tests of resolution: typed, selected, excepted, and what a refresh re-evaluates.

use super::*;
use crate::select::facts::RenderFacts;
use crate::store::Selection;

fn render(name: &str, gpu_mb: i64, os: &str) -> RenderInfo {
    RenderInfo {
        facts: RenderFacts {
            gpu_mem_total_mb: gpu_mb,
            os: os.to_string(),
            ..RenderFacts::default()
        },
        ..RenderInfo::named(name)
    }
}

/// Any instant: these pools have no windows.
fn now() -> Timestamp {
    "2026-12-07T12:00:00Z".parse().unwrap()
}

fn farm() -> Vec<RenderInfo> {
    vec![
        render("gpu01", 24576, "unix linux"),
        render("gpu02", 24576, "windows"),
        render("gpu03", 8192, "unix linux"),
        render("r10", 0, "unix linux"),
    ]
}

fn pool(hosts: &[&str], select: Option<&str>, except: &[&str]) -> Pool {
    Pool::new("p", hosts).with_selection(Selection {
        select: select.map(str::to_string),
        except: except.iter().map(|h| h.to_string()).collect(),
        ..Selection::default()
    })
}

#[test]
fn members_are_typed_plus_selected_less_excepted() {
    let big = Some("gpu_mem_total_mb >= 20000");
    let cases: &[(Pool, &[&str])] = &[
        (pool(&["ws-1", "GPU01"], None, &[]), &["ws-1", "GPU01"]),
        (pool(&["ws-1", "ws-2"], None, &["WS-2"]), &["ws-1"]),
        (pool(&[], big, &[]), &["gpu01", "gpu02"]),
        (
            pool(&["ws-1", "GPU01"], big, &[]),
            &["ws-1", "GPU01", "gpu02"],
        ),
        (pool(&[], big, &["gpu02"]), &["gpu01"]),
        (
            pool(
                &[],
                Some("gpu_mem_total_mb > 0 && os.contains(\"linux\")"),
                &[],
            ),
            &["gpu01", "gpu03"],
        ),
        (
            pool(&[], Some("name.matches(\"^gpu0[23]$\")"), &[]),
            &["gpu02", "gpu03"],
        ),
        (pool(&["ws-1"], Some("int(os) > 1"), &[]), &["ws-1"]),
        (pool(&["ws-1"], Some("ram > 1"), &[]), &["ws-1"]),
    ];
    for (p, want) in cases {
        let got = Resolver::new().resolve(std::slice::from_ref(p), &farm(), now());
        assert_eq!(got[0].hosts, *want, "{:?}", p.selection);
        assert_eq!(got[0].selection, p.selection, "the selection stays");
    }
}

#[test]
fn a_typed_list_is_returned_as_stored() {
    let typed = Pool::new("p", ["B", "a"]);
    let got = Resolver::new().resolve(std::slice::from_ref(&typed), &[], now());
    assert_eq!(got, [typed]);
}

#[test]
fn renders_not_listed_are_not_selected() {
    let p = pool(&[], Some("true"), &[]);
    assert!(
        Resolver::new().resolve(std::slice::from_ref(&p), &[], now())[0]
            .hosts
            .is_empty()
    );
}

#[test]
fn a_refresh_follows_changed_new_and_gone_renders() {
    let p = [pool(&[], Some("gpu_mem_total_mb >= 20000"), &[])];
    let mut resolver = Resolver::new();
    let mut renders = farm();
    assert_eq!(
        resolver.resolve(&p, &renders, now())[0].hosts,
        ["gpu01", "gpu02"]
    );
    // Busy and online flags change nothing the rule reads.
    renders[0].busy = true;
    renders[1].online = false;
    assert_eq!(
        resolver.resolve(&p, &renders, now())[0].hosts,
        ["gpu01", "gpu02"]
    );
    // A card upgraded, a render gone, one joining.
    renders[2].facts.gpu_mem_total_mb = 49152;
    renders.remove(0);
    renders.push(render("gpu00", 32768, "unix linux"));
    assert_eq!(
        resolver.resolve(&p, &renders, now())[0].hosts,
        ["gpu00", "gpu02", "gpu03"]
    );
    // An edited rule is evaluated over every render.
    let edited = [pool(&[], Some("gpu_mem_total_mb >= 40000"), &[])];
    assert_eq!(
        resolver.resolve(&edited, &renders, now())[0].hosts,
        ["gpu03"]
    );
    assert_eq!(resolver.rules.len(), 1, "the old rule is forgotten");
}

#[test]
fn members_say_why() {
    let p = pool(
        &["ws-1", "gpu01"],
        Some("gpu_mem_total_mb >= 20000"),
        &["gpu02"],
    );
    let got = members(&p, &farm(), now());
    let whys: Vec<_> = got
        .iter()
        .map(|m| (m.host.as_str(), m.why.as_str(), m.listed))
        .collect();
    assert_eq!(whys, [("ws-1", "static", false), ("gpu01", "static", true)]);
    let p = pool(&[], Some("gpu_mem_total_mb >= 20000"), &[]);
    let got = members(&p, &farm(), now());
    assert_eq!(got[0].why, "gpu_mem_total_mb=24576");
}
