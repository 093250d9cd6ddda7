//! The proxy reads every message as afserver 3.4.1 reads it, against the fake afserver (which
//! reads like afserver, not like afpool): jobs in binary types 23 and 25, after a BOM, beside a
//! `get` that is not an object, behind a long text header, or from the web GUI are routed; bodies
//! afpool cannot read as afserver would (duplicate keys, not UTF-8, not JSON, sizes that disagree)
//! are answered with an error and never reach afserver; a lowercase `post` goes through as the
//! binary message afserver takes it for.

mod common;

use afpool::job::RouteSettings;
use afpool::protocol::encode;
use common::fake_afserver::afserver_read::{self, Kind};
use common::*;
use rstest::rstest;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

const BLOCK: &str = r#"{"name":"b","flags":1,"frame_first":1,"frame_last":4,"command":"x @#@"}"#;

fn pool_job(name: &str) -> String {
    format!(r#"{{"job":{{"name":"{name}","user_name":"artist","pool":"gpu","blocks":[{BLOCK}]}}}}"#)
}

fn binary(mtype: i32, body: &[u8]) -> Vec<u8> {
    let len = body.len() as i32;
    [
        &81i32.to_be_bytes()[..],
        &mtype.to_be_bytes(),
        &len.to_be_bytes(),
        body,
    ]
    .concat()
}

fn http(afanasy: usize, content_length: Option<usize>, body: &[u8]) -> Vec<u8> {
    let cl = content_length.map_or(String::new(), |n| format!("Content-Length: {n}\r\n"));
    let head = format!("POST / HTTP/1.1\r\nHost: x\r\n{cl}AFANASY: {afanasy}\r\n\r\n");
    [head.as_bytes(), body].concat()
}

/// Full-match test of a regex mask, as afserver's `regex_match` applies it.
fn excludes(mask: &str, host: &str) -> bool {
    full_match(mask, host)
}

/// The job reached afserver routed to the pool `gpu` = {gpu.node3}.
fn assert_routed(job: &Value) {
    let mask = job["hosts_mask_exclude"].as_str().unwrap_or_default();
    assert_eq!(job["hosts_mask_type"], "regex", "{job}");
    for (host, out) in [
        ("render01", true),
        ("r10", true),
        ("new-01", true),
        ("gpu.node3", false),
    ] {
        assert_eq!(excludes(mask, host), out, "{host} vs {mask}");
    }
    assert!(job.get("pool").is_none(), "{job}");
}

/// A reply carrying afserver's render list (not valid JSON: afserver leaves backslashes raw).
fn is_render_list(reply: &[u8]) -> bool {
    reply.windows(12).any(|w| w == br#"{"renders":["#)
}

/// What reached the fake, apart from the proxy's own render-list requests.
fn forwarded(fake: &FakeAfserver) -> Vec<Vec<u8>> {
    let poll = encode::text_request(afpool::renders::GET_RENDERS);
    fake.requests().into_iter().filter(|r| *r != poll).collect()
}

async fn start() -> (FakeAfserver, TestProxy) {
    let fake = FakeAfserver::start(farm()).await;
    let pools = vec![pool("gpu", &["gpu.node3"])];
    let proxy = spawn_proxy(fake.addr, pools, RouteSettings::default()).await;
    (fake, proxy)
}

/// The reply is afpool's error mentioning `needle`, and afserver got nothing.
fn assert_refused(reply: &[u8], needle: &str, fake: &FakeAfserver) {
    let answer = reply_json(reply);
    let text = answer["error"].as_str().unwrap_or_default();
    assert!(
        text.starts_with("afpool: ") && text.contains(needle),
        "{answer}"
    );
    assert_eq!(answer["info"]["kind"], "error");
    let forwarded = forwarded(fake);
    assert!(forwarded.is_empty(), "forwarded: {forwarded:?}");
    assert!(!fake.crashed());
}

#[rstest]
#[case::tjson(23)]
#[case::tjsonbin(24)]
#[case::thttp(25)]
#[tokio::test]
async fn binary_23_24_and_25_jobs_are_all_routed(#[case] mtype: i32) {
    let (fake, proxy) = start().await;
    let reply = send(proxy.addr, &binary(mtype, pool_job("bin").as_bytes())).await;
    assert!(reply_json(&reply)["id"].as_i64().unwrap() > 0);
    assert_routed(&fake.jobs()[0]);
    let sent = &forwarded(&fake)[0];
    assert_eq!(sent[4..8], mtype.to_be_bytes(), "the binary type is kept");
}

#[tokio::test]
async fn a_job_beside_a_get_that_is_not_an_object_is_routed() {
    let (fake, proxy) = start().await;
    for get in ["null", "\"renders\"", "[]"] {
        let body = pool_job("g").replacen("{", &format!("{{\"get\":{get},"), 1);
        let reply = send(proxy.addr, &encode::text_request(body.as_bytes())).await;
        assert!(reply_json(&reply)["id"].as_i64().unwrap() > 0, "get {get}");
    }
    let jobs = fake.jobs();
    assert_eq!(jobs.len(), 3);
    jobs.iter().for_each(assert_routed);
    // A `get` object makes it a request: relayed as it came, no job registered.
    let body = pool_job("g").replacen("{", r#"{"get":{"type":"renders"},"#, 1);
    let request = encode::text_request(body.as_bytes());
    let reply = send(proxy.addr, &request).await;
    assert!(
        is_render_list(&reply),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    assert_eq!(fake.requests().last(), Some(&request));
    assert_eq!(fake.jobs().len(), 3);
}

#[tokio::test]
async fn a_job_after_a_utf8_bom_is_routed_and_forwarded_without_it() {
    let (fake, proxy) = start().await;
    let job = pool_job("bom");
    let body = [&b"\xEF\xBB\xBF"[..], job.as_bytes()].concat();
    // In binary framing the BOM is part of the body; in text framing it is skipped with the
    // rest of the header, since the body starts at the first '{'.
    let text = [format!("AFANASY {} JSON", job.len()).as_bytes(), &body].concat();
    for request in [binary(24, &body), binary(23, &body), text] {
        let reply = send(proxy.addr, &request).await;
        assert!(reply_json(&reply)["id"].as_i64().unwrap() > 0);
    }
    fake.jobs().iter().for_each(assert_routed);
    for sent in fake.requests() {
        assert!(
            !sent.windows(3).any(|w| w == b"\xEF\xBB\xBF"),
            "BOM forwarded"
        );
    }
}

#[tokio::test]
async fn a_text_header_with_json_past_48_bytes_is_routed() {
    let (fake, proxy) = start().await;
    let body = pool_job("long");
    let request = format!("AFANASY {}{}JSON {body}", body.len(), " ".repeat(100));
    let reply = send(proxy.addr, request.as_bytes()).await;
    assert!(reply_json(&reply)["id"].as_i64().unwrap() > 0);
    assert_routed(&fake.jobs()[0]);
}

#[tokio::test]
async fn http_sizes_that_disagree_are_refused_unless_the_web_gui_wrote_them() {
    let (fake, proxy) = start().await;
    let body = pool_job("sizes");
    // Not the web GUI: AFANASY is neither the byte nor the UTF-16 length.
    let request = http(body.len() - 20, Some(body.len()), body.as_bytes());
    let reply = send(proxy.addr, &request).await;
    assert_refused(&reply, "AFANASY and Content-Length disagree", &fake);
    // The web GUI: AFANASY in UTF-16 units, Content-Length in bytes; a get goes through re-framed.
    let get = r#"{"get":{"type":"renders","mask":"ré"}}"#;
    let request = http(get.encode_utf16().count(), Some(get.len()), get.as_bytes());
    let reply = send(proxy.addr, &request).await;
    assert!(
        is_render_list(&reply),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    let sent = fake.requests().pop().unwrap();
    let (kind, start, len) = afserver_read::header(&sent).unwrap();
    assert_eq!(
        (kind, &sent[start..start + len]),
        (Kind::Http, get.as_bytes())
    );
}

/// Each body has one object with a key twice: afserver reads the first, serde the last.
#[rstest]
#[case::top(r#"{"job":{"name":"a","user_name":"u","blocks":[BLOCK]},"job":{"name":"b","user_name":"u","pool":"gpu","blocks":[BLOCK]}}"#)]
#[case::job(r#"{"job":{"name":"a","user_name":"u","pool":"gpu","hosts_mask_exclude":"","hosts_mask_exclude":"x","blocks":[BLOCK]}}"#)]
#[case::blocks(r#"{"job":{"name":"a","user_name":"u","blocks":[],"blocks":[BLOCK]}}"#)]
#[case::block(r#"{"job":{"name":"a","user_name":"u","pool":"gpu","blocks":[{"hosts_mask":"r.*","tasks":[{"command":"c"}],"hosts_mask":"gpu.*"}]}}"#)]
#[case::task(r#"{"job":{"name":"a","user_name":"u","blocks":[{"tasks":[{"command":"a","name":"t","command":"b"}]}]}}"#)]
#[case::escaped_key(r#"{"job":{"name":"a","user_name":"u","blocks":[],"bl\u006fcks":[BLOCK]}}"#)]
#[case::get(r#"{"get":{"type":"jobs","type":"renders"}}"#)]
#[tokio::test]
async fn duplicate_keys_at_any_level_are_refused(#[case] body: &str) {
    let (fake, proxy) = start().await;
    let body = body.replace("BLOCK", BLOCK);
    let requests = [
        encode::text_request(body.as_bytes()),
        http(body.len(), Some(body.len()), body.as_bytes()),
        binary(24, body.as_bytes()),
    ];
    for request in requests {
        let reply = send(proxy.addr, &request).await;
        assert_refused(&reply, "twice in one object", &fake);
    }
}

#[tokio::test]
async fn the_fake_reads_the_first_of_two_blocks_keys_and_crashes_like_afserver() {
    let fake = FakeAfserver::start(farm()).await;
    let body =
        format!(r#"{{"job":{{"name":"a","user_name":"u","blocks":[],"blocks":[{BLOCK}]}}}}"#);
    let reply = send(fake.addr, &encode::text_request(body.as_bytes())).await;
    assert!(
        reply.is_empty() && fake.crashed(),
        "the fake must read the first 'blocks'"
    );
}

#[rstest]
#[case::latin1_job(&b"{\"job\":{\"name\":\"caf\xE9\",\"user_name\":\"u\",\"blocks\":[]}}"[..], "not UTF-8")]
#[case::latin1_get(&b"{\"get\":{\"type\":\"renders\",\"mask\":\"\xE9\"}}"[..], "not UTF-8")]
#[case::broken_job(&b"{\"job\":{\"name\":\"a\",\"user_name\":\"u\",\"blocks\":[}}"[..], "not a valid JSON object")]
#[case::broken_get(&b"{\"get\":{\"type\":\"renders\"}"[..], "not a valid JSON object")]
#[case::array(&b"[{\"job\":{}}]"[..], "not a valid JSON object")]
#[case::empty_text(&b" "[..], "not a valid JSON object")]
#[tokio::test]
async fn bodies_afpool_cannot_read_are_refused(#[case] body: &[u8], #[case] needle: &str) {
    let (fake, proxy) = start().await;
    let mut requests = vec![binary(23, body)];
    if body.starts_with(b"{") {
        // afserver starts text and HTTP bodies at a '{'.
        requests.extend([encode::text_request(body), http(body.len(), None, body)]);
    }
    for request in requests {
        let reply = send(proxy.addr, &request).await;
        assert_refused(&reply, needle, &fake);
    }
}

#[rstest]
#[case::negative_text(&b"AFANASY -5 JSON{}"[..], "negative size")]
#[case::no_size(&b"AFANASY JSON{\"get\":{\"type\":\"renders\"}}"[..], "without a size")]
#[case::no_afanasy_line(&b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"[..], "without an AFANASY header")]
#[case::bad_afanasy_line(&b"POST / HTTP/1.1\r\nAFANASY: x\r\n\r\n{}"[..], "bad AFANASY header")]
#[case::negative_binary(&[0, 0, 0, 81, 0, 0, 0, 25, 0xff, 0xff, 0xff, 0xfe, b'{', b'}'][..], "negative binary length")]
#[tokio::test]
async fn json_framings_afpool_cannot_frame_are_refused(
    #[case] request: &[u8],
    #[case] needle: &str,
) {
    let (fake, proxy) = start().await;
    let reply = send(proxy.addr, request).await;
    assert_refused(&reply, needle, &fake);
}

#[tokio::test]
async fn a_json_request_cut_short_by_the_client_is_answered_not_forwarded() {
    let (fake, proxy) = start().await;
    let body = pool_job("cut");
    let request = encode::text_request(body.as_bytes());
    let mut s = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    s.write_all(&request[..request.len() - 5]).await.unwrap();
    s.shutdown().await.unwrap();
    let reply = read_reply(&mut s).await;
    assert_refused(&reply, "ended before its declared size", &fake);
}

#[tokio::test]
async fn a_lowercase_post_goes_through_as_the_binary_header_afserver_reads() {
    let (fake, proxy) = start().await;
    let body = pool_job("lower");
    let request = http(body.len(), None, body.as_bytes())
        .strip_prefix(b"POST")
        .map(|rest| [&b"post"[..], rest].concat())
        .unwrap();
    let direct = send(fake.addr, &request).await;
    let through = send(proxy.addr, &request).await;
    assert_eq!(through, direct, "the same answer as afserver's own");
    assert_eq!(
        reply_json(&through)["info"]["text"],
        "TInvalid message received."
    );
    assert_eq!(fake.requests().last().unwrap(), &request[..12]);
    assert!(fake.jobs().is_empty());
}

#[tokio::test]
async fn a_job_without_a_pool_is_forwarded_as_afpools_own_serialisation() {
    let (fake, proxy) = start().await;
    let body = format!(
        "{{ \"job\" : {{\"name\":\"plain\",\n \"user_name\":\"u\", \"blocks\":[{BLOCK}] }} }}"
    );
    let reply = send(proxy.addr, &encode::text_request(body.as_bytes())).await;
    assert!(reply_json(&reply)["id"].as_i64().unwrap() > 0);
    let sent = forwarded(&fake).pop().unwrap();
    let (_, start, len) = afserver_read::header(&sent).unwrap();
    let forwarded = &sent[start..start + len];
    assert_ne!(
        forwarded,
        body.as_bytes(),
        "re-serialised, not the original bytes"
    );
    let original: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(forwarded).unwrap(),
        original
    );
    assert_eq!(fake.jobs()[0]["name"], json!("plain"));
}

#[rstest]
#[case::http_lf_no_blank_line(b"POST /\nAFANASY: 2\n{}...", Some((Kind::Http, 18, 2)))]
#[case::http_bare_blank_line(b"POST /\nAFANASY: 2\n\n{}", Some((Kind::Http, 21, 2)))]
#[case::http_without_afanasy(b"POST / HTTP/1.1\r\n\r\n{}", None)]
#[case::lowercase_post(b"post / HTTP/1.1\r\n", Some((Kind::Invalid, 12, 0)))]
#[case::text_junk_before_brace(b"AFANASY 2 JSON xx{}", Some((Kind::Text, 17, 2)))]
#[case::text_lowercase_json(b"afanasy 2 json{}....", None)]
fn the_fake_judges_headers_like_process_header(
    #[case] first: &[u8],
    #[case] want: Option<(Kind, usize, usize)>,
) {
    assert_eq!(afserver_read::header(first), want);
}

#[test]
fn the_fake_reads_bodies_like_json_parse_data() {
    let read = |b: &[u8]| afserver_read::json_body(b);
    let first = read(br#"{"job":{"blocks":[],"blocks":[1]},"job":2}"#).unwrap();
    assert_eq!(first, json!({"job": {"blocks": []}}));
    assert_eq!(read(b"\xEF\xBB\xBF{\"a\":1}").unwrap(), json!({"a": 1}));
    assert_eq!(read(b"{\"a\":1}\0junk").unwrap(), json!({"a": 1}));
    assert!(read(b"[1]").is_err());
}
