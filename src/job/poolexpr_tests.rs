use std::collections::{HashMap, HashSet};

use rstest::rstest;

use super::*;

fn pools() -> HashMap<&'static str, HashSet<String>> {
    let set = |hosts: &[&str]| hosts.iter().map(|h| h.to_string()).collect();
    HashMap::from([
        ("gpu", set(&["g1", "g2", "old1"])),
        ("cpu", set(&["c1", "c2"])),
        ("old", set(&["old1", "c2"])),
        ("linux", set(&["g1", "c1", "old1"])),
        ("night pool", set(&["w1"])),
        ("empty", set(&[])),
    ])
}

fn hosts(text: &str) -> Result<Vec<String>, EvalError> {
    let pools = pools();
    let expr = PoolExpr::parse(text).unwrap();
    let mut got: Vec<String> = expr.eval(&|n| pools.get(n))?.into_iter().collect();
    got.sort();
    Ok(got)
}

#[rstest]
#[case("gpu|cpu", &["c1", "c2", "g1", "g2", "old1"])]
#[case("gpu&linux", &["g1", "old1"])]
#[case("gpu&!old", &["g1", "g2"])]
#[case("!old&gpu", &["g1", "g2"])]
#[case("(gpu|cpu)&!old", &["c1", "g1", "g2"])]
#[case("gpu|cpu&linux", &["c1", "g1", "g2", "old1"])]
#[case("(gpu|cpu)&linux", &["c1", "g1", "old1"])]
#[case("gpu&!(old|linux)", &["g2"])]
#[case("gpu&!!linux", &["g1", "old1"])]
#[case("gpu & !old | night pool", &["g1", "g2", "w1"])]
#[case("gpu&empty", &[])]
#[case("gpu&!cpu&!old", &["g1", "g2"])]
fn expressions_name_exactly_their_hosts(#[case] text: &str, #[case] want: &[&str]) {
    assert_eq!(hosts(text).unwrap(), want, "{text}");
}

#[rstest]
#[case("!old")]
#[case("gpu|!old")]
#[case("!gpu&!old")]
#[case("!(gpu&old)")]
fn a_set_that_is_every_host_but_is_refused(#[case] text: &str) {
    assert_eq!(hosts(text), Err(EvalError::Unbounded), "{text}");
}

#[test]
fn an_unknown_name_is_named() {
    assert_eq!(hosts("gpu|gpu2"), Err(EvalError::Unknown("gpu2".into())));
}

#[rstest]
#[case("gpu|", 5, "a pool name is missing at the end")]
#[case("|gpu", 1, "a pool name is missing")]
#[case("gpu&&cpu", 5, "a pool name is missing")]
#[case("(gpu|cpu", 1, "'(' is never closed")]
#[case("gpu|cpu)", 8, "')' without its '('")]
#[case("gpu&()", 6, "a pool name is missing before ')'")]
#[case("gpu (cpu)", 5, "unexpected '('")]
fn syntax_errors_say_what_and_where(
    #[case] text: &str,
    #[case] column: usize,
    #[case] message: &str,
) {
    let e = PoolExpr::parse(text).unwrap_err();
    assert_eq!((e.column, e.message.as_str()), (column, message), "{text}");
}

#[rstest]
#[case("gpu | cpu", "gpu|cpu")]
#[case("(gpu|cpu)&!old", "(gpu|cpu)&!old")]
#[case("gpu&!(old|cpu)", "gpu&!(old|cpu)")]
#[case("((gpu))", "gpu")]
fn the_canonical_text_reads_back_the_same(#[case] text: &str, #[case] canonical: &str) {
    let expr = PoolExpr::parse(text).unwrap();
    assert_eq!(expr.to_string(), canonical);
    assert_eq!(PoolExpr::parse(canonical).unwrap(), expr);
}

#[test]
fn renamed_pools_are_followed_inside_an_expression() {
    let renames = HashMap::from([("old".to_string(), "legacy".to_string())]);
    let expr = PoolExpr::parse("(gpu|cpu)&!old").unwrap();
    assert_eq!(
        expr.renamed(&renames).unwrap().to_string(),
        "(gpu|cpu)&!legacy"
    );
    assert_eq!(PoolExpr::parse("gpu|cpu").unwrap().renamed(&renames), None);
    assert!(is_expression("gpu|cpu") && is_expression("!old") && !is_expression("gpu"));
}
