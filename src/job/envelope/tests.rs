//! The envelope: which bodies are submissions, key order and verbatim values kept, odd shapes named.

use super::*;
use rstest::rstest;

#[rstest]
#[case(br#"{"job":{"name":"x"}}"#, true)]
#[case(br#"{"job":5}"#, true)]
#[case(br#"{"get":{"type":"jobs"},"job":{}}"#, false)]
#[case(br#"{"get":null,"job":{"name":"x"}}"#, true)]
#[case(br#"{"get":"renders","job":{}}"#, true)]
#[case(br#"{"get":[{"type":"jobs"}],"job":{}}"#, true)]
#[case(br#"{"job":{},"action":{}}"#, false)]
#[case(br#"{"job":{},"action":null}"#, false)]
#[case(b"\xEF\xBB\xBF{\"job\":{}}", true)]
#[case(br#"{"job":{},"job":{}}"#, false)]
#[case(br#"{"jo\u0062":{}}"#, true)]
#[case(br#"{"get":{"type":"renders"}}"#, false)]
#[case(br#"{"monitor":{"job":1}}"#, false)]
#[case(br#"["job"]"#, false)]
#[case(br#"{"job":{"name":"x"}"#, false)]
#[case(br#"{"job":{}} trailing"#, false)]
#[case(b"", false)]
fn recognises_job_submissions(#[case] body: &[u8], #[case] is_job: bool) {
    assert_eq!(is_job_submission(body), is_job);
}

const BODY: &str = "{\"z\": 1, \"job\": {\"name\": \"x\", \"blocks\": [ {\"name\": \"a\",  \"tasks\": [ {\"c\": \"\\u00e9\"} ]}, {\"name\": \"b\", \"flags\": 1} ], \"y\": [1, 2]}, \"a\": null}";

#[test]
fn untouched_envelope_keeps_order_and_value_bytes() {
    let env = Envelope::parse(BODY.as_bytes()).unwrap();
    let out = String::from_utf8(env.to_vec()).unwrap();
    assert_eq!(
        out,
        "{\"z\":1,\"job\":{\"name\":\"x\",\"blocks\":[{\"name\": \"a\",  \"tasks\": [ {\"c\": \"\\u00e9\"} ]},{\"name\": \"b\", \"flags\": 1}],\"y\":[1, 2]},\"a\":null}"
    );
}

#[test]
fn changed_block_is_rewritten_and_others_stay_byte_identical() {
    let mut env = Envelope::parse(BODY.as_bytes()).unwrap();
    let job = env.job_mut().unwrap();
    job.blocks_mut()[1].set_str("hosts_mask", "r1.*");
    job.set_str("name", "y");
    job.remove("y");
    let out = String::from_utf8(env.to_vec()).unwrap();
    assert!(
        out.contains("{\"name\": \"a\",  \"tasks\": [ {\"c\": \"\\u00e9\"} ]}"),
        "{out}"
    );
    assert!(
        out.contains("{\"name\":\"b\",\"flags\":1,\"hosts_mask\":\"r1.*\"}"),
        "{out}"
    );
    assert!(
        out.starts_with("{\"z\":1,\"job\":{\"name\":\"y\",\"blocks\":"),
        "{out}"
    );
    assert!(out.ends_with("}]},\"a\":null}"), "{out}");
}

#[test]
fn reads_typed_fields() {
    let mut env = Envelope::parse(BODY.as_bytes()).unwrap();
    let job = env.job_mut().unwrap();
    assert_eq!(job.str_of("name").as_deref(), Some("x"));
    assert_eq!(job.str_of("y"), None);
    let blocks = job.blocks().unwrap().unwrap();
    assert_eq!(blocks[1].i64_of("flags"), Some(1));
    assert_eq!(blocks[0].raw("tasks"), Some("[ {\"c\": \"\\u00e9\"} ]"));
}

#[rstest]
#[case(br#"{"job":[1]}"#, Err("an array"))]
#[case(br#"{"job":"x"}"#, Err("a string"))]
#[case(br#"{"other":1}"#, Err("missing"))]
#[case(br#"{"job":{"blocks":{"a":1}}}"#, Ok(Some(Err("an object"))))]
#[case(br#"{"job":{"blocks":null}}"#, Ok(Some(Err("null"))))]
#[case(br#"{"job":{}}"#, Ok(None))]
fn odd_shapes_are_named(
    #[case] body: &[u8],
    #[case] want: Result<Option<Result<usize, &str>>, &str>,
) {
    let mut env = Envelope::parse(body).unwrap();
    let got = env.job_mut().map(|j| j.blocks().map(|b| b.map(<[_]>::len)));
    assert_eq!(got, want);
}

#[test]
fn non_object_block_has_no_fields() {
    let env = Envelope::parse(br#"{"job":{"blocks":[5,{}]}}"#).unwrap();
    let mut env = env;
    let blocks = env.job_mut().unwrap().blocks().unwrap().unwrap();
    assert!(blocks[0].fields.is_none());
    assert!(blocks[1].fields.is_some());
}
