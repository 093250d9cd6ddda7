//! The checks every fuzz target runs on one input, as plain functions: the AFL binaries in
//! `src/bin/` call them, and `afpool`'s regression tests replay `fixtures/fuzz/` through the same
//! code paths. Each function panics when an invariant breaks (a crash for AFL).

use afpool::job::{Inventory, RouteSettings};
use afpool::protocol::frame::{self, FrameError};
use afpool::renders::RenderInfo;
use afpool::store::Pool;

/// Request framing: parse as afpool reads a client's message; a whole frame must lie inside
/// the bytes, and a frame's body inside the frame.
pub fn request_frame(data: &[u8]) {
    check_frame(data, frame::parse_request(data));
    let _ = frame::json_framing(data);
}

/// Reply framing: parse as afpool reads afserver's reply, with the same invariants.
pub fn reply_frame(data: &[u8]) {
    check_frame(data, frame::parse_reply(data));
}

fn check_frame(data: &[u8], parsed: Result<frame::Frame, FrameError>) {
    if let Ok(f) = parsed {
        assert!(f.len <= data.len(), "frame longer than the input");
        assert!(
            f.body.start <= f.body.end && f.body.end <= f.len,
            "body outside the frame"
        );
    }
}

/// The job envelope: the strict read ([`afpool::job::is_job_submission`] parses the whole
/// envelope) never panics, and its cheap pre-filter never refuses a real submission.
pub fn envelope(data: &[u8]) {
    if afpool::job::is_job_submission(data) {
        assert!(
            afpool::job::might_be_submission(data),
            "pre-filter refused a submission"
        );
    }
}

/// The fixed snapshot routing runs against: two pools, six renders (like fixtures/jobs).
pub fn inventory() -> Inventory {
    let pools = vec![
        Pool::new("cpu", ["Render01", "render02", "render03"]),
        Pool::new("gpu", ["gpu.node3", "gpu.node4"]),
        Pool::new("empty", Vec::<String>::new()),
    ];
    let renders = ["render01", "render02", "render03", "gpu.node3", "r1", "r10"]
        .iter()
        .map(|n| RenderInfo::named(n))
        .collect();
    Inventory::new(pools, renders)
}

/// Routing: route any body on the fixed snapshot; a routed body must be JSON afserver reads as a
/// submission again, and routing it a second time must give the same bytes.
pub fn route(data: &[u8], inv: &Inventory) {
    let settings = RouteSettings::default();
    let Some(Ok(routed)) = afpool::job::route_submission(data, &settings, inv) else {
        return;
    };
    let body = routed.body.to_vec();
    assert!(
        serde_json::from_slice::<serde_json::Value>(&body).is_ok(),
        "routed body is not JSON"
    );
    assert!(
        afpool::job::is_job_submission(&body),
        "routed body is no submission"
    );
    if let Some(Ok(again)) = afpool::job::route_submission(&body, &settings, inv) {
        assert_eq!(again.body.to_vec(), body, "routing is not idempotent");
    }
}

/// The legacy Pool Server request parser (`afpool::legacy::request::parse`, on main since the
/// legacy server was merged; build with `--features legacy`): never panics, and bytes it judged
/// invalid never become a request when more bytes arrive (the server closes on invalid).
#[cfg(feature = "legacy")]
pub fn legacy_request(data: &[u8]) {
    use afpool::legacy::request::{parse, Parse};
    let whole = parse(data);
    if data.len() <= 256 && matches!(whole, Parse::Complete(_)) {
        for k in 0..data.len() {
            let prefix = parse(&data[..k]);
            assert!(
                !matches!(prefix, Parse::Invalid(_)),
                "prefix {k} judged invalid, the whole is a request"
            );
        }
    }
}
