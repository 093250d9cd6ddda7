//! The legacy Pool Server reply, encoded as the old server wrote it (pure, no I/O).
//!
//! The body is what `bson.json_util.dumps(list(collection.find()))` printed: an extended-JSON
//! array of pool documents with Python's `json.dumps` spacing (`", "` and `": "`) and escaping
//! (everything outside ASCII as `\uXXXX`), so its byte length is its character count:
//! `[{"_id": {"$oid": "<24 hex>"}, "name": "...", "clients": [{"hostname": "...", "engine": "",
//! "ip": "", "port": ""}]}]`.
//!
//! The header is `{"type": "response", "size": N}` (N = the body's byte length), padded with
//! spaces to exactly [`HEADER_LEN`] bytes. The old clients read the header with one
//! `recv(1024)` and parse it with `json.loads`, which accepts trailing spaces: a header of exactly
//! 1024 bytes can never come back glued to the start of the body, whatever the timing (the old
//! server's short header sometimes did, and the client failed).

use crate::store::Pool;

/// The header's length on the wire: the old clients' `recv(1024)`.
pub const HEADER_LEN: usize = 1024;

/// The header for a body of `size` bytes, padded with spaces to [`HEADER_LEN`] bytes.
pub fn header(size: usize) -> Vec<u8> {
    let mut header = format!("{{\"type\": \"response\", \"size\": {size}}}").into_bytes();
    header.resize(HEADER_LEN.max(header.len()), b' ');
    header
}

/// The body: every pool as a legacy document, in the given order.
pub fn body(pools: &[Pool]) -> String {
    let mut out = String::from("[");
    for (i, pool) in pools.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_pool(&mut out, pool);
    }
    out.push(']');
    out
}

/// The whole reply: the padded header, then the body.
pub fn encode(pools: &[Pool]) -> Vec<u8> {
    let body = body(pools);
    let mut reply = header(body.len());
    reply.extend_from_slice(body.as_bytes());
    reply
}

fn push_pool(out: &mut String, pool: &Pool) {
    let id = match &pool.legacy_id {
        Some(id) => id.clone(),
        None => super::object_id::synthesise(&pool.name),
    };
    out.push_str("{\"_id\": {\"$oid\": ");
    push_str(out, &id);
    out.push_str("}, \"name\": ");
    push_str(out, &pool.name);
    out.push_str(", \"clients\": [");
    for (i, host) in pool.hosts.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str("{\"hostname\": ");
        push_str(out, host);
        out.push_str(", \"engine\": \"\", \"ip\": \"\", \"port\": \"\"}");
    }
    out.push_str("]}");
}

/// A JSON string as Python's `json.dumps` (`ensure_ascii=True`) writes it.
fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn pool(name: &str, hosts: &[&str], id: Option<&str>) -> Pool {
        let mut pool = Pool::new(name, hosts);
        pool.legacy_id = id.map(str::to_string);
        pool
    }

    #[rstest]
    #[case::plain("pc-1", r#""pc-1""#)]
    #[case::quote_backslash(r#"a"b\c"#, r#""a\"b\\c""#)]
    #[case::controls("a\nb\tc\r\u{8}\u{c}\u{1}", r#""a\nb\tc\r\b\f\u0001""#)]
    #[case::latin("café", r#""caf\u00e9""#)]
    #[case::astral("🎬", r#""\ud83c\udfac""#)]
    #[case::delete("\u{7f}", r#""\u007f""#)]
    fn strings_are_escaped_like_python(#[case] input: &str, #[case] expected: &str) {
        let mut out = String::new();
        push_str(&mut out, input);
        assert_eq!(out, expected);
    }

    #[test]
    fn body_is_the_old_servers_extended_json() {
        let pools = [
            pool("comp", &["pc-1", "PC-2"], Some("5cf4e2a1b2c3d4e5f6a7b8c9")),
            pool("empty", &[], Some("5cf4e2a1b2c3d4e5f6a7b8ca")),
        ];
        assert_eq!(
            body(&pools),
            concat!(
                r#"[{"_id": {"$oid": "5cf4e2a1b2c3d4e5f6a7b8c9"}, "name": "comp", "clients": "#,
                r#"[{"hostname": "pc-1", "engine": "", "ip": "", "port": ""}, "#,
                r#"{"hostname": "PC-2", "engine": "", "ip": "", "port": ""}]}, "#,
                r#"{"_id": {"$oid": "5cf4e2a1b2c3d4e5f6a7b8ca"}, "name": "empty", "clients": []}]"#
            )
        );
        assert_eq!(body(&[]), "[]");
    }

    #[test]
    fn pools_without_an_id_get_a_stable_synthesised_one() {
        let first = body(&[pool("lighting", &["a"], None)]);
        let again = body(&[pool("lighting", &["a", "b"], None)]);
        let value: serde_json::Value = serde_json::from_str(&first).unwrap();
        let id = value[0]["_id"]["$oid"].as_str().unwrap().to_string();
        assert_eq!(id.len(), 24);
        assert!(again.contains(&id));
    }

    #[rstest]
    #[case(0)]
    #[case(2)]
    #[case(123_456_789)]
    fn header_is_padded_json(#[case] size: usize) {
        let header = header(size);
        assert_eq!(header.len(), HEADER_LEN);
        let value: serde_json::Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(value, serde_json::json!({"type": "response", "size": size}));
        let text = String::from_utf8(header).unwrap();
        assert!(text.starts_with(&format!("{{\"type\": \"response\", \"size\": {size}}} ")));
    }

    #[test]
    fn reply_is_header_then_body_and_size_counts_bytes() {
        let pools = [pool("ñ", &["häst"], None)];
        let reply = encode(&pools);
        let (head, rest) = reply.split_at(HEADER_LEN);
        let head: serde_json::Value = serde_json::from_slice(head).unwrap();
        assert_eq!(head["size"].as_u64().unwrap() as usize, rest.len());
        assert!(rest.is_ascii());
        let docs: serde_json::Value = serde_json::from_slice(rest).unwrap();
        assert_eq!(docs[0]["name"], "ñ");
        assert_eq!(docs[0]["clients"][0]["hostname"], "häst");
    }
}
