use super::*;

fn gpu_box() -> RenderFacts {
    RenderFacts {
        os: "unix linux 64 debian 12".into(),
        gpu_mem_total_mb: 24576,
        gpu_string: "NVIDIA RTX A5000".into(),
        mem_total_mb: 65536,
        ..RenderFacts::default()
    }
}

#[test]
fn rules_select_by_what_afserver_lists() {
    let cases = [
        ("gpu_mem_total_mb >= 20000 && os.contains(\"linux\")", true),
        ("gpu_mem_total_mb >= 30000", false),
        ("name.matches(\"^gpu[0-9]+$\")", true),
        ("name.startsWith(\"render\")", false),
        ("gpu_string.lowerAscii().contains(\"rtx\")", true),
        ("native_pool == \"/\" && capacity == 1100", true),
        ("[\"gpu07\", \"gpu08\"].exists(n, n == name)", true),
        ("mem_total_mb / 1024 >= 64", true),
    ];
    for (source, want) in cases {
        let rule = Rule::compile(source).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rule.selects("gpu07", "/", &gpu_box()), Ok(want), "{source}");
    }
}

#[test]
fn refusals_say_why_and_where() {
    let cases = [
        ("gpu_mem >= 20000", "no render field \"gpu_mem\"", (1, 1)),
        (
            "os.contains(\"linux\") && ram > 4",
            "no render field \"ram\"",
            (1, 25),
        ),
        (
            "cpu_num > 0 &&\n  ram > 1",
            "no render field \"ram\"",
            (2, 3),
        ),
        ("mem_total_mb >= ", "", (1, 17)),
        ("cpu_num > 0 &&\n  b )", "", (2, 5)),
        ("mem_total_mb > \"big\"", "", (1, 1)),
        ("mem_total_mb + 1", "not true or false", (1, 1)),
        ("   ", "empty", (1, 1)),
    ];
    for (source, reason, (line, column)) in cases {
        let e = Rule::compile(source).expect_err(source);
        assert!(e.reason.contains(reason), "{source}: {e}");
        assert_eq!((e.line, e.column), (line, column), "{source}: {e}");
        assert!(e.to_string().contains("column"), "{e}");
    }
}

#[test]
fn macro_variables_are_not_render_fields() {
    Rule::compile("[1, 2].all(x, x > 0) && cpu_num > 0").unwrap();
    let e = Rule::compile("[1].all(x, x > y)").unwrap_err();
    assert!(e.reason.contains("\"y\""), "{e}");
}

#[test]
fn the_reason_shows_the_values_the_rule_read() {
    let rule = Rule::compile("gpu_mem_total_mb >= 20000 && os.contains(\"linux\")").unwrap();
    assert_eq!(
        rule.values("gpu07", "/", &gpu_box()),
        "gpu_mem_total_mb=24576 os=\"unix linux 64 debian 12\""
    );
}

#[test]
fn a_fault_of_one_render_is_not_a_selection() {
    let rule = Rule::compile("int(properties) > 2").unwrap();
    assert!(rule.selects("r1", "/", &RenderFacts::default()).is_err());
}
