//! The fast path for flat tasks: what it reads itself, and that the scan finds the same with it
//! as without it (the general path alone) on every kind of body the other scan tests use.

use rstest::rstest;

use super::super::tasks_tests::job_body;
use super::super::tests::{value, walk};
use super::super::{scan_with, Scanner};

/// Where the fast path ends the object at the start of `text`, if it reads it.
fn flat_end(text: &str) -> Option<usize> {
    Scanner::new(text, true).flat_object(0)
}

#[rstest]
#[case::task(r#"{"name": "f1", "command": "r -f 1"},"#, Some(35))]
#[case::empty(r#"{ }"#, Some(3))]
#[case::numbers_literals("{\"a\":-1.5e3,\n\"b\":true,\t\"c\":null}", Some(32))]
#[case::escaped_value(r#"{"c":"C:\\new \"x\""}"#, Some(21))]
#[case::files(r#"{"name":"f","files":["a", "b\"c" ,1e3,[]]}"#, None)]
#[case::files_flat(r#"{"name":"f","files":["a", "b\"c" ,1e3, true]}"#, Some(45))]
#[case::empty_list(r#"{"l":[ ]}"#, Some(9))]
#[case::object_in_a_list(r#"{"l":[{"k":1}]}"#, None)]
#[case::list_cut(r#"{"l":["a","#, None)]
#[case::nested_object(r#"{"e":{"k":"v"}}"#, None)]
#[case::escaped_key(r#"{"n\u0061me":"f"}"#, None)]
#[case::duplicate(r#"{"a":1,"b":2,"a":3}"#, None)]
#[case::many_keys(r#"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}"#, None)]
#[case::eight_keys(r#"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8}"#, Some(49))]
#[case::cut_in_a_string(r#"{"a":"xy"#, None)]
#[case::cut_after_a_value(r#"{"a":"x""#, None)]
#[case::no_colon(r#"{"a" "x"}"#, None)]
#[case::trailing_comma(r#"{"a":"x",}"#, None)]
fn reads_flat_objects_only(#[case] text: &str, #[case] end: Option<usize>) {
    assert_eq!(flat_end(text), end, "{text}");
}

/// With the fast path or without it, one scan finds the same duplicate, suspect values and
/// task split.
fn same_either_way(text: &str) {
    assert_eq!(scan_with(text, true), scan_with(text, false), "{text}");
}

#[test]
fn the_scan_finds_the_same_with_the_fast_path_as_without() {
    let mut rng = fastrand::Rng::with_seed(0xf1a7);
    let tasks = [
        r#"{"name": "f1", "command": "r -f 1"}"#,
        r#"{"name":"a","name":"b"}"#,
        r#"{"n":"\uD800"}"#,
        r#"{"m":123456789012345678901}"#,
        r#"{"f": 2.5E3, "t": true}"#,
        r#"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"a":9}"#,
        r#"{"x":"y","files":["a","b"],"x":"z"}"#,
        r#"{ "k" : "v" , "l" : [ ] }"#,
        r#"{"name":"f","files":["a","b"]}"#,
        r#"{"files":["x\"y"]}"#,
        r#"{"files":[1e3]}"#,
        r#"{"files":["\uDC00"],"files":[]}"#,
        r#"{"files":[["nested"]],"n":1}"#,
        r#"{"job":{"blocks":[]}}"#,
        "{}",
        "7",
    ];
    for _ in 0..3_000 {
        let list: Vec<&str> = (0..rng.usize(0..6))
            .map(|_| tasks[rng.usize(0..tasks.len())])
            .collect();
        let text = format!(
            r#"{{"job":{{"blocks":[{{"tasks":[{}]}}]}}}}"#,
            list.join(" , ")
        );
        same_either_way(&text);
        for cut in (0..text.len()).step_by(rng.usize(1..9)) {
            same_either_way(&text[..cut]);
        }
        same_either_way(&job_body(&mut rng));
        let mut any = String::new();
        value(&mut rng, 3, &mut any);
        same_either_way(&any);
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["fixtures/jobs", "fixtures/submit", "fixtures/fuzz"] {
        for path in walk(root.join(dir)) {
            if let Ok(text) = String::from_utf8(std::fs::read(&path).unwrap()) {
                same_either_way(&text);
            }
        }
    }
}

/// A duplicate key inside a flat-looking task is reported where the general path reports it.
#[test]
fn a_duplicate_in_a_task_is_found_at_its_place() {
    let text = r#"{"job":{"blocks":[{"tasks":[{"n":"a"},{"n":"b","c":"x","n":"c"}]}]}}"#;
    let found = scan_with(text, true).duplicate.expect("a duplicate");
    assert_eq!(
        (found.key.as_str(), found.at),
        ("n", text.rfind(r#""n""#).unwrap())
    );
}
