//! Tests of [`super`]: table cases, and exactness over every short name of a small alphabet.

use super::*;
use rstest::rstest;
use std::collections::HashSet;

#[rstest]
#[case(&["a"], "a")]
#[case(&["a", "b"], "[ab]")]
#[case(&["r1", "r10"], "r10?")]
#[case(&["r1", "r10", "r11"], "r1[01]?")]
#[case(&["r1", "r12", "r13"], "r1[23]?")]
#[case(&["gpu.n1", "gpu.n2"], "gpu[.]n[12]")]
#[case(&["a-1", "a_1", "a.1"], "a[._-]1")]
#[case(&["r1", "r2", "r3", "r5"], "r[1-35]")]
#[case(&["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"], "r[0-9]")]
#[case(&["ab1", "ab2", "cd1", "cd2"], "(?:ab|cd)[12]")]
#[case(&["x1", "y1", "z2"], "[xy]1|z2")]
#[case(&["x[1", "x]1", "x^1"], "x.1")]
#[case(&["b", "a", "b", ""], "[ab]")]
#[case(&["hé1", "a1", "a2", "hé2", "hé1"], "a[12]|hé1|hé2")]
fn writes_trees(#[case] names: &[&str], #[case] want: &str) {
    assert_eq!(tree(names.iter().copied()), want);
}

fn is_exact(pattern: &str, names: &HashSet<String>, universe: &[String]) {
    assert!(!pattern.contains('\\'), "{pattern}");
    mask::check_regex(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
    let m = mask::full_match(pattern).unwrap();
    let folded: HashSet<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    for s in universe {
        assert_eq!(m.is_match(s), names.contains(s), "{pattern} on {s}");
        let want = folded.contains(&s.to_ascii_lowercase());
        assert_eq!(
            m.is_match_icase(s),
            want,
            "{pattern} on {s}, case-insensitive"
        );
    }
}

/// Every string of 1 to 4 characters over `alphabet`.
fn universe(alphabet: &[char]) -> Vec<String> {
    let mut all = vec![String::new()];
    let mut level = vec![String::new()];
    for _ in 0..4 {
        level = level
            .iter()
            .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
            .collect();
        all.extend(level.iter().cloned());
    }
    all
}

#[test]
fn trees_match_exactly_their_names() {
    let all = universe(&['a', 'B', '1', '2', '.', '-']);
    let mut rng = fastrand::Rng::with_seed(0x2545_f491_4f6c_dd1d);
    for round in 0..300 {
        let size = 1 + rng.usize(..[3, 20, 200][round % 3]);
        let names: HashSet<String> = (0..size)
            .map(|_| all[rng.usize(1..all.len())].clone())
            .collect();
        let pattern = tree(names.iter().map(String::as_str));
        is_exact(&pattern, &names, &all);
    }
}

fn farm(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|i| format!("render{i:05}")).collect()
}

#[test]
fn a_numbered_farm_outside_one_pool_is_a_few_classes() {
    let outside: Vec<String> = farm(26..=5000);
    let pattern = alternation(outside.iter().map(String::as_str));
    assert_eq!(
        pattern, "render0(?:0(?:0(?:2[6-9]|[3-9][0-9])|[1-9][0-9][0-9])|[1-4][0-9][0-9][0-9]|5000)",
        "as docs/internals.md shows it"
    );
    let names: HashSet<String> = outside.iter().cloned().collect();
    let mut universe = farm(0..=5100);
    universe.extend(["render0", "render000010", "Render00030", "render0003"].map(String::from));
    is_exact(&pattern, &names, &universe);
}

#[test]
fn short_lists_stay_plain_and_in_order() {
    assert_eq!(alternation(["r2", "r1", "gpu.n3"]), "r2|r1|gpu[.]n3");
    assert_eq!(alternation([]), "");
    let long = farm(1..=100);
    let pattern = alternation(long.iter().map(String::as_str));
    assert_eq!(pattern, "render00(?:0(?:0[1-9]|[1-9][0-9])|100)");
}

#[test]
fn the_readme_example() {
    let names: Vec<String> = (26..=500).map(|i| format!("render{i:04}")).collect();
    assert_eq!(
        alternation(names.iter().map(String::as_str)),
        "render0(?:0(?:2[6-9]|[3-9][0-9])|[1-4][0-9][0-9]|500)"
    );
}

#[test]
fn a_tree_longer_than_the_plain_list_is_not_used() {
    // "abax|acay" is shorter than "a(bax|cay)": nothing is shared past one letter.
    let names: Vec<String> = ('a'..='z')
        .flat_map(|c| [format!("{c}b{c}x"), format!("{c}c{c}y")])
        .collect();
    let plain = mask::alternation(names.iter().map(String::as_str));
    assert!(plain.len() > PLAIN_UP_TO);
    assert!(tree(names.iter().map(String::as_str)).len() > plain.len());
    assert_eq!(alternation(names.iter().map(String::as_str)), plain);
}

#[path = "../../tests/common/pool_shapes.rs"]
mod pool_shapes;

/// The pool shapes of issue 26: the mask (look-ahead) keeps exactly the members, against every
/// near miss and every other host of the farm, case-sensitively and case-insensitively, and stays
/// within its size: `(shape, most bytes, most libstdc++ states)`.
#[rstest]
#[case("gpu10", 40, 40)]
#[case("render1000", 80, 50)]
#[case("ws100", 1_400, 1_100)]
#[case("fqdn2000", 7_500, 8_000)]
fn pool_shapes_are_exact_and_small(
    #[case] shape: &str,
    #[case] max_bytes: usize,
    #[case] max_states: usize,
) {
    let shape = pool_shapes::shapes()
        .into_iter()
        .find(|s| s.name == shape)
        .unwrap();
    let inner = alternation(shape.members.iter().map(String::as_str));
    let lookahead = mask::pool_lookahead(&inner);
    let states = crate::job::ecma::check(&lookahead).unwrap().states;
    assert!(lookahead.len() <= max_bytes, "{} bytes", lookahead.len());
    assert!(states <= max_states, "{states} states");
    let members: HashSet<String> = shape.members.iter().cloned().collect();
    let mut others = pool_shapes::near_misses(&shape.members);
    others.extend(shape.outsiders());
    let m = mask::full_match(&lookahead).unwrap();
    for name in &shape.members {
        assert!(!m.is_match(name), "member {name} excluded");
        assert!(!m.is_match_icase(name), "member {name} excluded (icase)");
    }
    let folded: HashSet<String> = members.iter().map(|n| n.to_ascii_lowercase()).collect();
    for name in &others {
        assert!(m.is_match(name), "{name} not excluded");
        let member_icase = folded.contains(&name.to_ascii_lowercase());
        assert_eq!(m.is_match_icase(name), !member_icase, "{name} (icase)");
    }
    let inner_only = mask::full_match(&inner).unwrap();
    assert!(shape.members.iter().all(|n| inner_only.is_match(n)));
    assert!(others.iter().all(|n| !inner_only.is_match(n)));
}
