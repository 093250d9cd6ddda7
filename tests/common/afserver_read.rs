//! How the fake afserver reads a request, written from afserver 3.4.1's own rules and not from
//! afpool's code, so the two cannot share a mistake:
//! - the header is judged on the first read(s) only (`af::processHeader`): `POST` (exact case)
//!   is HTTP, sized by the last `AFANASY: ` line (any case) before the first line starting with
//!   `{`, which starts the body; `AFANASY` (any case) is text, `sscanf("%d")`, then `JSON` (exact
//!   case) somewhere in the read and the body at the next `{`; `GET` is a file; anything else a
//!   binary header, invalid from type 64 (TLAST) on;
//! - binary types 23, 24 and 25 are JSON;
//! - the body (`af::jsonParseData`): a UTF-8 BOM skipped, the text cut at the first NUL, invalid
//!   UTF-8 taken as it comes, and objects read like rapidjson: the FIRST of two equal keys counts.

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A request's framing as the fake judged it.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Kind {
    Text,
    Http,
    Get,
    Binary(i32, i32),
    /// A binary header afserver reads as TInvalid (type 64 and above).
    Invalid,
}

impl Kind {
    /// afserver's JSON handler takes it.
    pub fn is_json(self) -> bool {
        matches!(self, Kind::Text | Kind::Http | Kind::Binary(_, 23..=25))
    }
}

/// Framing, body start and body length, judged from the bytes of the first read(s); `None` when
/// afserver would close the connection.
pub fn header(first: &[u8]) -> Option<(Kind, usize, usize)> {
    if first.starts_with(b"POST") {
        let (start, n) = http(first)?;
        return Some((Kind::Http, start, usize::try_from(n).ok()?));
    }
    if first[..7].eq_ignore_ascii_case(b"AFANASY") {
        if let Some(n) = sscanf_int(&first[7..]) {
            let json = (8..first.len()).find(|&i| first[i..].starts_with(b"JSON"))?;
            let start = (json + 4..first.len())
                .find(|&i| first[i] == b'{')
                .unwrap_or(first.len());
            return Some((Kind::Text, start, usize::try_from(n).ok()?));
        }
    }
    if first.starts_with(b"GET") {
        return Some((Kind::Get, first.len(), 0));
    }
    let int = |i: usize| i32::from_be_bytes(first[i..i + 4].try_into().unwrap());
    let (version, mtype, len) = (int(0), int(4), int(8));
    if mtype >= 64 || (mtype >= 21 && (len == 0 || len > 64 * 1024 * 1024 - 12)) {
        return Some((Kind::Invalid, 12, 0));
    }
    let len = if mtype >= 21 { len.max(0) as usize } else { 0 };
    Some((Kind::Binary(version, mtype), 12, len))
}

/// The HTTP rule: walk the line starts; after an `AFANASY: ` line has been read, a line starting
/// with `{` is the body. Without one in this read, the body starts where the read ends.
fn http(first: &[u8]) -> Option<(usize, i64)> {
    let mut size: Option<i64> = None;
    let mut at = 4;
    while at < first.len() {
        if first[at] == b'\n' {
            at += 1;
            if at == first.len() {
                break;
            }
            if size.is_some() && first[at] == b'{' {
                return Some((at, size?));
            }
            let line = &first[at..];
            if line.len() >= 9 && line[..9].eq_ignore_ascii_case(b"AFANASY: ") {
                at += 9;
                size = Some(sscanf_int(&first[at..])?);
            }
        }
        at += 1;
    }
    size.map(|n| (first.len(), n))
}

/// `sscanf(s, "%d")`: C whitespace, a sign, digits; `None` when there are no digits.
fn sscanf_int(s: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(s)
        .unwrap_or_else(|e| std::str::from_utf8(&s[..e.valid_up_to()]).unwrap());
    let text = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let sign_len = usize::from(text.starts_with(['+', '-']));
    let digits = text[sign_len..]
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    if digits == 0 {
        return None;
    }
    text[..sign_len + digits].parse::<i64>().ok()
}

/// Parse a JSON body as afserver does; `Err` holds the parse error text.
pub fn json_body(body: &[u8]) -> Result<Value, String> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let body = &body[..body.iter().position(|&b| b == 0).unwrap_or(body.len())];
    let text = String::from_utf8_lossy(body);
    let mut de = serde_json::Deserializer::from_str(&text);
    let value = FirstWins.deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    if !value.is_object() {
        return Err("JSON: Can't find root object.".into());
    }
    Ok(value)
}

/// A JSON value in which an object keeps the first of two equal keys.
struct FirstWins;

impl<'de> DeserializeSeed<'de> for FirstWins {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FirstWins {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(FirstWins)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                map.next_value::<IgnoredAny>()?;
            } else {
                let value = map.next_value_seed(FirstWins)?;
                object.insert(key, value);
            }
        }
        Ok(Value::Object(object))
    }
}
