use super::*;

fn inventory() -> Inventory {
    let mut off = RenderInfo::named("r10");
    off.online = false;
    let renders = vec![
        RenderInfo::named("render01"),
        RenderInfo::named("gpu.node3"),
        RenderInfo::named("r1"),
        off,
    ];
    let pools = vec![
        Pool::new("cpu", ["Render01", "r1", "spare9"]),
        Pool::new("gpu", ["gpu.node3"]),
        Pool::new("cpu", Vec::<String>::new()),
    ];
    Inventory::new(pools, renders)
}

#[test]
fn members_take_afservers_spelling() {
    let inv = inventory();
    let cpu = inv.plan("cpu").unwrap();
    assert_eq!(*cpu.hosts, ["r1", "render01", "spare9"]);
    assert_eq!(cpu.include(), "r1|render01|spare9");
    assert_eq!(cpu.exclude(), "(?!(?:r1|render01|spare9)$).*");
    assert_eq!(cpu.excluded, 2);
    assert!(cpu.valid.is_ok());
    let names: Vec<&str> = cpu.can_run.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["r1", "render01"]);
    assert_eq!(
        cpu.cannot_run.to_vec()[1],
        HostState {
            name: "r10".into(),
            online: false
        }
    );
}

#[test]
fn pool_only_hosts_are_known_and_excluded_elsewhere() {
    let inv = inventory();
    assert_eq!(inv.known_hosts(), 5);
    let gpu = inv.plan("gpu").unwrap();
    assert_eq!(gpu.exclude(), "(?!(?:gpu[.]node3)$).*");
    assert_eq!(gpu.excluded, 4, "r1, r10, render01 and spare9 are kept off");
}

#[test]
fn masks_written_before_are_carried_or_rewritten_never_dropped() {
    let first = inventory();
    let cpu_exclude = first.plan("cpu").unwrap().exclude().to_string();
    let gpu_include = first.plan("gpu").unwrap().include().to_string();
    let mut renders = first.renders().to_vec();
    renders[0].online = false; // a flag changed: same names
    renders.push(RenderInfo::named("new9")); // a new render: masks name members only
    let second = Inventory::after(&first, first.pools().to_vec(), renders.clone());
    let (cpu, gpu) = (second.plan("cpu").unwrap(), second.plan("gpu").unwrap());
    assert_eq!(cpu.exclude.get(), Some(&cpu_exclude));
    assert_eq!(gpu.include.get(), Some(&gpu_include));
    assert!(gpu.exclude.get().is_none(), "never asked for");
    let mut pools = first.pools().to_vec();
    pools[0].hosts.push("new9".into()); // a member added: cpu's masks are written again
    let third = Inventory::after(&second, pools, renders);
    let cpu = third.plan("cpu").unwrap();
    assert_eq!(
        cpu.exclude.get().map(String::as_str),
        Some("(?!(?:new9|r1|render01|spare9)$).*")
    );
    assert_eq!(third.plan("gpu").unwrap().include.get(), Some(&gpu_include));
}

#[test]
fn lookups_are_exact_and_first_duplicate_wins() {
    let inv = inventory();
    assert!(inv.plan("CPU").is_none());
    assert_eq!(inv.plan("cpu").unwrap().hosts.len(), 3);
    assert_eq!(inv.pools().len(), 3);
    assert_eq!(inv.renders().len(), 4);
}

#[test]
fn renders_differing_in_case_are_both_written() {
    let renders = vec![
        RenderInfo::named("Render01"),
        RenderInfo::named("render01"),
        RenderInfo::named("x"),
    ];
    let inv = Inventory::new(vec![Pool::new("p", ["RENDER01"])], renders);
    let p = inv.plan("p").unwrap();
    assert_eq!(*p.hosts, ["Render01", "render01"]);
    assert_eq!(p.exclude(), "(?!(?:Render01|render01)$).*");
    assert_eq!(p.excluded, 1);
}

#[test]
fn expressions_seen_are_planned_again_with_their_masks_carried() {
    let first = inventory();
    let exclude = first.plan_expr("cpu|gpu").unwrap().exclude().to_string();
    let unused = first.plan_expr("cpu&!gpu").unwrap();
    let second = Inventory::after(&first, first.pools().to_vec(), first.renders().to_vec());
    let kept = second.exprs.plans.lock().unwrap().clone();
    assert_eq!(kept["cpu|gpu"].exclude.get(), Some(&exclude));
    assert!(kept["cpu&!gpu"].exclude.get().is_none(), "never asked for");
    assert_eq!(*kept["cpu&!gpu"].hosts, *unused.hosts);
    let mut pools = first.pools().to_vec();
    pools[1].hosts.push("new9".into()); // gpu gains a member: cpu|gpu is written again
    let third = Inventory::after(&second, pools, first.renders().to_vec());
    let plan = third.plan_expr("cpu|gpu").unwrap();
    assert!(
        plan.exclude.get().is_some_and(|m| m.contains("new9")),
        "{plan:?}"
    );
}
