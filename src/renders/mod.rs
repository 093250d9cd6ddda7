//! What afserver knows about render hosts: the [`RenderInfo`] record and a lenient parser for the
//! `{"get":{"type":"renders"}}` reply (afserver writes some strings unescaped, so its JSON can be
//! invalid; see the protocol notes). The resources mode, asked only while a selector pool needs
//! it, is read in [`resources`].

pub mod resources;

use serde::Serialize;

use crate::select::facts::{RenderFacts, DEFAULT_CAPACITY, DEFAULT_MAX_TASKS};

/// One render host as afserver reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenderInfo {
    /// Render name exactly as afserver spells it (what masks are matched against).
    pub name: String,
    /// Online (state bit 1).
    pub online: bool,
    /// Running tasks (state bit 8).
    pub busy: bool,
    /// Not taking tasks: nimby or NIMBY (state bits 2 and 4), set by its user or a schedule.
    pub nimby: bool,
    /// Afanasy's own (native) pool path, e.g. `/gpu`.
    pub af_pool: Option<String>,
    /// afserver's id of the render (0 when unknown).
    #[serde(skip)]
    pub id: i64,
    /// What selector rules may ask of it.
    #[serde(skip)]
    pub facts: RenderFacts,
}

impl RenderInfo {
    /// A render known only by name (online, idle, no native pool); handy for tests and fixtures.
    pub fn named(name: &str) -> Self {
        RenderInfo {
            name: name.to_string(),
            online: true,
            busy: false,
            nimby: false,
            af_pool: None,
            id: 0,
            facts: RenderFacts::default(),
        }
    }
}

/// Why the render list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RendersError {
    /// afserver could not be asked.
    #[error(transparent)]
    Upstream(#[from] crate::upstream::UpstreamError),
    /// afserver's answer was not a render list.
    #[error("afserver's render list could not be read: {0}")]
    BadReply(String),
}

/// The request body afpool sends to list renders.
pub const GET_RENDERS: &[u8] = br#"{"get":{"type":"renders"}}"#;

/// Ask afserver for every render it knows (online and offline). The list is read off the
/// proxy's workers: afserver writes ~700 bytes per render, megabytes for a farm, every refresh.
pub async fn fetch(upstream: &crate::upstream::Upstream) -> Result<Vec<RenderInfo>, RendersError> {
    ask(upstream, GET_RENDERS, parse_list).await
}

/// [`fetch`], then the resources mode, whose hardware facts are merged into the list (by id).
/// A render listed between the two requests keeps no resources until the next refresh, so a
/// rule that asks for hardware does not select it yet.
pub async fn fetch_with_resources(
    upstream: &crate::upstream::Upstream,
) -> Result<Vec<RenderInfo>, RendersError> {
    let mut list = fetch(upstream).await?;
    let found = ask(upstream, resources::GET_RESOURCES, resources::parse).await?;
    resources::merge(&mut list, found);
    Ok(list)
}

/// Sends `request` and reads the reply body with `parse`, off the proxy's workers.
async fn ask<T: Send + 'static>(
    upstream: &crate::upstream::Upstream,
    request: &'static [u8],
    parse: fn(&[u8]) -> Result<T, String>,
) -> Result<T, RendersError> {
    let reply = upstream
        .exchange(&crate::protocol::encode::text_request(request))
        .await?;
    let frame = crate::protocol::frame::parse_reply(&reply)
        .map_err(|e| RendersError::BadReply(format!("{e} ({} bytes)", reply.len())))?;
    let parsed = tokio::task::spawn_blocking(move || parse(&reply[frame.body]));
    let parsed = parsed
        .await
        .map_err(|e| RendersError::BadReply(e.to_string()))?;
    parsed.map_err(RendersError::BadReply)
}

/// Parse a `{"renders":[...]}` body, tolerating afserver's unescaped backslashes.
pub fn parse_list(body: &[u8]) -> Result<Vec<RenderInfo>, String> {
    #[derive(serde::Deserialize)]
    struct Reply {
        renders: Option<Vec<Raw>>,
    }
    #[derive(serde::Deserialize)]
    struct Raw {
        name: String,
        #[serde(default)]
        id: i64,
        #[serde(default)]
        st: i64,
        #[serde(default)]
        pool: Option<String>,
        #[serde(default)]
        os: String,
        #[serde(default)]
        engine: String,
        #[serde(default)]
        properties_host: String,
        capacity_host: Option<i64>,
        max_tasks_host: Option<i64>,
    }
    let reply: Reply = from_slice_lenient(body).map_err(|e| e.to_string())?;
    let raw = reply.renders.ok_or("the reply has no \"renders\" list")?;
    Ok(raw
        .into_iter()
        .map(|r| RenderInfo {
            name: r.name,
            online: r.st & 1 != 0,
            busy: r.st & 8 != 0,
            nimby: r.st & 6 != 0,
            af_pool: r.pool,
            id: r.id,
            facts: RenderFacts {
                os: r.os,
                engine: r.engine,
                properties: r.properties_host,
                capacity: r.capacity_host.unwrap_or(DEFAULT_CAPACITY),
                max_tasks: r.max_tasks_host.unwrap_or(DEFAULT_MAX_TASKS),
                ..RenderFacts::default()
            },
        })
        .collect())
}

/// Reads afserver's JSON `body` with `read`, and once more repaired ([`repair_escapes`]) when it
/// does not parse as it is.
pub fn read_lenient<T>(
    body: &[u8],
    read: impl Fn(&[u8]) -> serde_json::Result<T>,
) -> serde_json::Result<T> {
    read(body).or_else(|_| read(&repair_escapes(body)))
}

/// [`read_lenient`] with `serde_json::from_slice`.
pub fn from_slice_lenient<T: serde::de::DeserializeOwned>(body: &[u8]) -> serde_json::Result<T> {
    read_lenient(body, |b| serde_json::from_slice(b))
}

/// Make afserver's hand-written JSON valid: double every backslash that does not start a valid
/// JSON escape (`\\u` needs four hex digits: a Windows user `CORP\\util` is written raw), escape
/// raw control characters inside strings, and replace invalid UTF-8. A raw quote inside a string,
/// or a raw backslash at its end (`\\"` reads as an escaped quote), cannot be told apart and is
/// left as it is.
pub fn repair_escapes(body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len() + 16);
    let (mut i, mut in_string) = (0, false);
    while i < b.len() {
        match b[i] {
            b'\\' if in_string && valid_escape(&b[i + 1..]) => {
                out.extend_from_slice(&b[i..i + 2]);
                i += 2;
                continue;
            }
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => {
                in_string = !in_string;
                out.push(b'"');
            }
            c if c < 0x20 && in_string => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Does `rest` (what follows a backslash) start a valid JSON escape?
fn valid_escape(rest: &[u8]) -> bool {
    match rest.first() {
        Some(b'u') => rest.len() >= 5 && rest[1..5].iter().all(u8::is_ascii_hexdigit),
        Some(c) => b"\"\\/bfnrt".contains(c),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::protocol::frame::captured_reply_body as body_of;

    #[test]
    fn reads_the_captured_render_list() {
        let renders = parse_list(&body_of("08-text-get-renders.reply.bin")).unwrap();
        let mut names: Vec<_> = renders
            .iter()
            .map(|r| (r.name.as_str(), r.online))
            .collect();
        names.sort();
        assert_eq!(
            names,
            [("gpu.node3", true), ("render01", true), ("render02", false)]
        );
        assert_eq!(renders[0].af_pool.as_deref(), Some("/"));
        assert_eq!(
            (renders[0].id, renders[0].facts.engine.as_str()),
            (1, "3.4.1")
        );
        assert_eq!(renders[0].facts.capacity, 1100);
    }

    #[test]
    fn tolerates_unescaped_backslashes() {
        let body = br#"{"renders":[{"name":"r1","st":9,"annotation":"gpu\..*"}]}"#;
        assert!(serde_json::from_slice::<serde_json::Value>(body).is_err());
        let renders = parse_list(body).unwrap();
        assert_eq!(
            renders,
            [RenderInfo {
                name: "r1".into(),
                online: true,
                busy: true,
                nimby: false,
                af_pool: None,
                id: 0,
                facts: RenderFacts::default(),
            }]
        );
        assert_eq!(repair_escapes(br#""a\\b\"c\d""#), br#""a\\b\"c\\d""#);
    }

    /// afserver writes render user names raw: a Windows domain user breaks its JSON.
    #[rstest::rstest]
    #[case(r"CORP\util", r"CORP\util")]
    #[case(r"C:\new", "C:\new")]
    #[case(r"a\x", r"a\x")]
    #[case(r"a\u12", r"a\u12")]
    #[case(r"a\u12g4", r"a\u12g4")]
    #[case(r"a\u00e9", "a\u{e9}")]
    #[case("tab\there", "tab\there")]
    #[case("raw\u{1}ctl", "raw\u{1}ctl")]
    fn reads_raw_user_names(#[case] raw: &str, #[case] user: &str) {
        let body = format!(
            r#"{{"renders":[{{"name":"win01","st":1,"user_name":"{raw}"}},{{"name":"r2","st":0}}]}}"#
        );
        let renders = parse_list(body.as_bytes()).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert_eq!(renders.len(), 2);
        assert_eq!(renders[0].name, "win01");
        let repaired: serde_json::Value =
            serde_json::from_slice(&repair_escapes(body.as_bytes())).unwrap();
        assert_eq!(repaired["renders"][0]["user_name"], user);
    }

    #[test]
    fn a_reply_without_renders_is_an_error() {
        assert!(parse_list(br#"{"info":{"kind":"error","text":"x"}}"#).is_err());
        assert_eq!(parse_list(br#"{"renders":[]}"#).unwrap(), []);
    }
}
