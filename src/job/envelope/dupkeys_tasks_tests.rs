//! The duplicate-key scan's other task: splitting every block's task list into tasks, as
//! serde_json splits it, in tables and on generated job envelopes.

use rstest::rstest;
use serde_json::value::RawValue;

use super::scan;
use super::tests::{agree, padded, value};

/// Every block's task list, as the scan split it, holds the items serde_json reads in it (and
/// none when `tasks` is not an array).
pub(super) fn tasks_agree(text: &str) {
    use crate::job::envelope::{Envelope, Fields, Item};
    let Ok(mut env) = Envelope::parse(text.as_bytes()) else {
        return;
    };
    let Some(Ok(blocks)) = env.job_mut().ok().and_then(|job| job.blocks()) else {
        return;
    };
    for (i, block) in blocks.iter().enumerate() {
        let items = |raw| serde_json::from_str::<Vec<&RawValue>>(raw).ok();
        let want: Option<Vec<Item<'_>>> = block
            .raw("tasks")
            .and_then(items)
            .map(|items| items.into_iter().map(RawValue::get).map(item).collect());
        assert_eq!(
            block.tasks_split().map(<[_]>::to_vec),
            want,
            "{text}: block {i}"
        );
    }
}

fn item(text: &str) -> crate::job::envelope::Item<'_> {
    crate::job::envelope::Item {
        text,
        escaped: text.contains('\\'),
        object: text.starts_with('{'),
    }
}

/// A job envelope with random blocks: task lists of random values (some not arrays), keys
/// that spell `tasks` with an escape, duplicates now and then.
pub(super) fn job_body(rng: &mut fastrand::Rng) -> String {
    const BLOCK_KEYS: [&str; 5] = ["tasks", "t\\u0061sks", "name", "flags", "tasks"];
    const TASKS: [&str; 4] = [
        r#"{"name": "f1", "command": "r -f 1"}"#,
        r#"{ "name" : "a\"b" , "command":"C:\\new" }"#,
        r#"{"command": "[,]{}", "files": ["x", "y\u0041"]}"#,
        r#""just a string""#,
    ];
    let mut blocks = Vec::new();
    for _ in 0..rng.usize(0..4) {
        let mut block = String::from("{");
        for k in 0..rng.usize(1..3) {
            if k > 0 {
                block.push_str(" , ");
            }
            let key = match k {
                0 => BLOCK_KEYS[rng.usize(0..2)],
                _ => BLOCK_KEYS[rng.usize(0..BLOCK_KEYS.len())],
            };
            block.push_str(&format!("\"{key}\": "));
            match rng.u8(0..3) {
                0 => value(rng, 2, &mut block),
                _ => {
                    block.push_str("[ ");
                    for t in 0..rng.usize(0..5) {
                        block.push_str(["", ",", " ,\n"][usize::from(t > 0) * rng.usize(1..3)]);
                        match rng.u8(0..4) {
                            0 => value(rng, 3, &mut block),
                            _ => block.push_str(TASKS[rng.usize(0..TASKS.len())]),
                        }
                    }
                    block.push_str(" ]");
                }
            }
        }
        block.push('}');
        blocks.push(if rng.u8(0..8) == 0 { "7".into() } else { block });
    }
    format!(
        r#"{{"job": {{"name": "j", "blocks": [{}]}}}}"#,
        blocks.join(", ")
    )
}

#[test]
fn task_lists_are_split_as_serde_json_splits_them() {
    let mut rng = fastrand::Rng::with_seed(0x7a5c);
    let (mut lists, mut refused) = (0, 0);
    for _ in 0..5_000 {
        let text = job_body(&mut rng);
        agree(&text);
        match crate::job::envelope::Envelope::parse(text.as_bytes()) {
            Ok(mut env) => {
                let job = env.job_mut().unwrap();
                let split = job.blocks().unwrap().unwrap().iter();
                lists += split.filter(|b| b.tasks_split().is_some()).count();
            }
            Err(_) => refused += 1,
        }
    }
    assert!(
        lists > 1_000 && refused > 500,
        "{lists} lists, {refused} refused"
    );
    let big = padded(&job_body(&mut fastrand::Rng::with_seed(3)));
    tasks_agree(&big);
}

#[rstest]
#[case::plain(r#"{"job":{"blocks":[{"tasks":[ {"n":"a"} , "x" ,[1,{"b":"]"}], -2.5e3 ]}]}}"#, &[r#"{"n":"a"}"#, r#""x""#, r#"[1,{"b":"]"}]"#, "-2.5e3"])]
#[case::escapes(r#"{"job":{"blocks":[{"tasks":[{"c":"a\"b"},{"c":"x"},"\u0041"]}]}}"#, &[r#"{"c":"a\"b"}"#, r#"{"c":"x"}"#, r#""\u0041""#])]
#[case::empty(r#"{"job":{"blocks":[{"tasks":[ ]}]}}"#, &[])]
#[case::escaped_key(r#"{"job":{"bl\u006fcks":[{"t\u0061sks":["a"]}]}}"#, &[r#""a""#])]
fn task_lists_in_tables(#[case] text: &str, #[case] want: &[&str]) {
    let found = scan(text).tasks;
    assert_eq!(found.len(), 1, "{found:?}");
    let texts: Vec<&str> = found[0].items.iter().map(|i| i.text).collect();
    assert_eq!(texts, want);
    for item in &found[0].items {
        assert_eq!(item.escaped, item.text.contains('\\'), "{item:?}");
    }
    tasks_agree(text);
}

#[rstest]
#[case::not_under_job(r#"{"x":{"blocks":[{"tasks":[1]}]}}"#, 0)]
#[case::job_not_top(r#"{"a":{"job":{"blocks":[{"tasks":[1]}]}}}"#, 0)]
#[case::tasks_in_a_task(r#"{"job":{"blocks":[{"tasks":[{"tasks":[1]}]}]}}"#, 1)]
#[case::tasks_an_object(r#"{"job":{"blocks":[{"tasks":{"a":[1]}}]}}"#, 0)]
#[case::blocks_an_object(r#"{"job":{"blocks":{"b":{"tasks":[1]}}}}"#, 0)]
#[case::two_blocks(r#"{"job":{"blocks":[5,{"tasks":[1]},{"name":"x"},{"tasks":[]}]}}"#, 2)]
fn only_a_blocks_own_task_list_is_split(#[case] text: &str, #[case] lists: usize) {
    assert_eq!(scan(text).tasks.len(), lists);
    tasks_agree(text);
}

/// From 1 MiB the scan runs beside serde_json, on text nobody has validated yet: it must take
/// any text, here every prefix of envelopes with multi-byte characters, escapes and task lists.
#[test]
fn the_scan_takes_any_text_without_panicking() {
    let texts = [
        r#"{"job":{"blocks":[{"tasks":[{"né":"é","c":"\"é"},"é"]}]},"é":"€"}"#,
        r#"{"é€":1,"job":{"bl\u006fcks":[{"t\u0061sks":[ "x" , {"k":[1,{"é":"]"}]} ]}]}}"#,
        "{\"job\":{\"blocks\":[{\"tasks\":[{\"😀\":\"😀\"}]}]}}",
    ];
    let mut prefixes = 0;
    for text in texts {
        for cut in (0..=text.len()).filter(|&c| text.is_char_boundary(c)) {
            let _ = scan(&text[..cut]);
            prefixes += 1;
        }
        let _ = scan(&text.replace('"', ""));
        let _ = scan(&text.replace(['{', '['], ""));
    }
    assert!(prefixes > 150, "{prefixes}");
    let mut rng = fastrand::Rng::with_seed(0xc0de);
    let pieces = ["\"", "\\", "{", "}", "[", "]", ",", ":", "é", "1e9", " "];
    for _ in 0..20_000 {
        let mut text = texts[rng.usize(0..texts.len())].to_string();
        for _ in 0..rng.usize(1..4) {
            let at = rng.usize(0..=text.len());
            if text.is_char_boundary(at) {
                text.insert_str(at, pieces[rng.usize(0..pieces.len())]);
            }
        }
        let _ = scan(&text);
    }
}
