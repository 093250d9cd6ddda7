//! Text afserver 3.4.1 stores and writes back into its own JSON (replies and job store) by hand.
//! `af::strEscape` (`libafanasy/name_afstr.cpp:291`) escapes only `\`, `"`, newline, return and
//! tab, so any other control character makes that JSON invalid; many fields are written with no
//! escaping at all, so `"` and `\` break it too. rapidjson hands strings over as C strings, so a
//! NUL cuts the text. The tables below list every string afserver reads from a submitted job and
//! how it writes it back (see docs/internals.md, "Shield rules", for the source lines).

use super::raw::{self, Members};
use crate::job::envelope::json_str;
use crate::job::rejection::ShieldRule;

/// How afserver writes a stored string back into JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Written {
    /// Through `af::strEscape`: `\`, `"`, `\n`, `\r`, `\t` are escaped, other controls are not.
    Escaped,
    /// Between quotes as it is.
    Unescaped,
}
use Written::{Escaped, Unescaped};

/// The string fields, string lists and maps afserver reads from one kind of object.
pub(super) struct Schema {
    /// String fields.
    pub text: &'static [(&'static str, Written)],
    /// Lists of strings (each written escaped).
    pub lists: &'static [&'static str],
    /// Maps: keys are written unescaped; string values as given (`None`: integer values).
    pub maps: &'static [(&'static str, Option<Written>)],
}

/// Job keys (`job.cpp` `jsonRead`, `afwork.cpp`, `afnode.cpp`). `branch` is absent on purpose:
/// `Branch::FilterPath` turns it into safe path characters before it is stored.
pub(super) const JOB: Schema = Schema {
    text: &[
        ("name", Unescaped),
        ("user_name", Unescaped),
        ("host_name", Unescaped),
        ("annotation", Escaped),
        ("custom_data", Escaped),
        ("srv_info", Escaped),
        ("description", Escaped),
        ("command_pre", Escaped),
        ("command_post", Escaped),
        ("project", Escaped),
        ("department", Escaped),
        ("hosts_mask", Escaped),
        ("hosts_mask_exclude", Escaped),
        ("need_os", Escaped),
        ("need_properties", Escaped),
        ("depend_mask", Escaped),
        ("depend_mask_global", Escaped),
    ],
    lists: &[],
    maps: &[("folders", Some(Escaped)), ("pools", None)],
};

/// Block keys (`blockdata.cpp` `jsonRead`).
pub(super) const BLOCK: Schema = Schema {
    text: &[
        ("name", Unescaped),
        ("service", Unescaped),
        ("tasks_name", Unescaped),
        ("parser", Unescaped),
        ("multihost_service", Unescaped),
        ("srv_info", Unescaped),
        ("hosts_mask", Unescaped),
        ("hosts_mask_exclude", Unescaped),
        ("depend_mask", Unescaped),
        ("tasks_depend_mask", Unescaped),
        ("need_properties", Unescaped),
        ("command", Escaped),
        ("working_directory", Escaped),
        ("command_pre", Escaped),
        ("command_post", Escaped),
        ("custom_data", Escaped),
    ],
    lists: &["files"],
    maps: &[("environment", Some(Escaped)), ("tickets", None)],
};

/// Task keys (`taskdata.cpp` `jsonRead`).
pub(super) const TASK: Schema = Schema {
    text: &[("name", Unescaped), ("command", Escaped)],
    lists: &["files"],
    maps: &[("environment", Some(Escaped))],
};

/// Mask fields: a backslash there is usually a regex escape, with a ready fix.
const MASKS: [&str; 5] = [
    "hosts_mask",
    "hosts_mask_exclude",
    "depend_mask",
    "tasks_depend_mask",
    "need_properties",
];

/// A character afserver cannot store in a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BadChar {
    /// U+0000: afserver cuts the text there.
    Nul,
    /// Another control character afserver would write raw.
    Control(char),
    /// `"` in an unescaped field.
    Quote,
    /// `\` in an unescaped field.
    Backslash,
}

/// The first character of `s` afserver cannot store when it writes `s` as `how`.
pub(super) fn bad_char(s: &str, how: Written) -> Option<BadChar> {
    s.chars().find_map(|c| match c {
        '\0' => Some(BadChar::Nul),
        '\t' | '\n' | '\r' if how == Escaped => None,
        c if c < ' ' => Some(BadChar::Control(c)),
        '"' if how == Unescaped => Some(BadChar::Quote),
        '\\' if how == Unescaped => Some(BadChar::Backslash),
        _ => None,
    })
}

/// A stored string afserver cannot keep: where (`user_name`, `files[2]`, `environment key "A"`)
/// and which character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Finding {
    pub field: String,
    pub bad: BadChar,
    mask: bool,
}

impl Finding {
    /// The rule and the message after `whose` (`job 'x':`, `job 'x': block 'b'`).
    pub fn explain(&self, whose: impl std::fmt::Display) -> (ShieldRule, String) {
        let field = &self.field;
        let (rule, what, fix) = match self.bad {
            BadChar::Nul => {
                let msg = format!(
                    "{whose} {field} contains U+0000 (NUL), where afserver 3.4.1 cuts the text \
                     (an empty user_name crashes it); remove it"
                );
                return (ShieldRule::ControlCharacter, msg);
            }
            BadChar::Control(c) => (
                ShieldRule::ControlCharacter,
                format!("the control character U+{:04X}", c as u32),
                "remove it",
            ),
            BadChar::Quote => (ShieldRule::Quote, "a double quote".into(), "remove it"),
            BadChar::Backslash if self.mask => (
                ShieldRule::Backslash,
                "a backslash".into(),
                "use [.] instead of \\.",
            ),
            BadChar::Backslash => (ShieldRule::Backslash, "a backslash".into(), "remove it"),
        };
        let msg = format!(
            "{whose} {field} contains {what}, which afserver 3.4.1 writes unescaped, making its \
             replies and job store invalid JSON; {fix}"
        );
        (rule, msg)
    }
}

/// The first stored string of an object afserver cannot keep. `get` looks up a key's raw value.
pub(super) fn first_bad<'a>(
    schema: &Schema,
    get: impl Fn(&str) -> Option<&'a str>,
) -> Option<Finding> {
    let found = |field: String, bad, key: &str| Finding {
        field,
        bad,
        mask: MASKS.contains(&key),
    };
    for &(key, how) in schema.text {
        if let Some(bad) = get(key).and_then(|r| bad_in(r, how)) {
            return Some(found(key.to_string(), bad, key));
        }
    }
    for &key in schema.lists {
        if let Some((i, bad)) = get(key).and_then(bad_in_list) {
            return Some(found(format!("{key}[{i}]"), bad, key));
        }
    }
    for &(key, values) in schema.maps {
        if let Some((field, bad)) = get(key).and_then(|r| bad_in_map(key, r, values)) {
            return Some(found(field, bad, key));
        }
    }
    None
}

/// A raw value that is a string afserver cannot keep (text without a backslash is always fine).
fn bad_in(raw: &str, how: Written) -> Option<BadChar> {
    if !raw.contains('\\') {
        return None;
    }
    json_str(raw).and_then(|s| bad_char(&s, how))
}

fn bad_in_list(raw: &str) -> Option<(usize, BadChar)> {
    if !raw.contains('\\') {
        return None;
    }
    raw::array(raw)?
        .iter()
        .enumerate()
        .find_map(|(i, v)| bad_in(v, Escaped).map(|bad| (i, bad)))
}

fn bad_in_map(key: &str, raw: &str, values: Option<Written>) -> Option<(String, BadChar)> {
    if !raw.contains('\\') {
        return None;
    }
    Members::parse(raw)?.0.iter().find_map(|(k, v)| {
        if let Some(bad) = bad_char(k, Unescaped) {
            return Some((format!("{key} key {k:?}"), bad));
        }
        let bad = bad_in(v.get(), values?)?;
        Some((format!("{key} {k:?}"), bad))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("render01", Unescaped, None)]
    #[case("a\"b", Unescaped, Some(BadChar::Quote))]
    #[case("a\"b", Escaped, None)]
    #[case("CORP\\util", Unescaped, Some(BadChar::Backslash))]
    #[case("C:\\new", Escaped, None)]
    #[case("a\nb\tc\r", Escaped, None)]
    #[case("a\nb", Unescaped, Some(BadChar::Control('\n')))]
    #[case("a\u{1}b", Escaped, Some(BadChar::Control('\u{1}')))]
    #[case("a\u{1b}[0m", Escaped, Some(BadChar::Control('\u{1b}')))]
    #[case("a\u{1f}", Unescaped, Some(BadChar::Control('\u{1f}')))]
    #[case("\0x", Escaped, Some(BadChar::Nul))]
    #[case("x\u{7f}é\u{2028}", Unescaped, None)]
    fn characters(#[case] s: &str, #[case] how: Written, #[case] want: Option<BadChar>) {
        assert_eq!(bad_char(s, how), want);
    }

    fn find(schema: &Schema, object: &str) -> Option<(String, BadChar)> {
        let m = Members::parse(object).unwrap();
        first_bad(schema, |k| m.get(k)).map(|f| (f.field, f.bad))
    }

    #[rstest]
    #[case(&JOB, r#"{"user_name":"u","host_name":"CORP\\ws"}"#, Some(("host_name", BadChar::Backslash)))]
    #[case(&JOB, r#"{"branch":"\\proj\\\"q\"","hosts_mask":"a\\d"}"#, None)]
    #[case(&JOB, r#"{"description":"a\nb","annotation":"\u001b"}"#, Some(("annotation", BadChar::Control('\u{1b}'))))]
    #[case(&JOB, r#"{"folders":{"in\"put":"/x"}}"#, Some(("folders key \"in\\\"put\"", BadChar::Quote)))]
    #[case(&JOB, r#"{"folders":{"input":"C:\\x\u0002"}}"#, Some(("folders \"input\"", BadChar::Control('\u{2}'))))]
    #[case(&JOB, r#"{"pools":{"/gpu\\":5}}"#, Some(("pools key \"/gpu\\\\\"", BadChar::Backslash)))]
    #[case(&JOB, r#"{"user_name":5,"name":["a\"b"]}"#, None)]
    #[case(&BLOCK, r#"{"files":["ok","a\u0000"]}"#, Some(("files[1]", BadChar::Nul)))]
    #[case(&BLOCK, r#"{"command":"a\"b\\c","working_directory":"C:\\w"}"#, None)]
    #[case(&BLOCK, r#"{"environment":{"A":"C:\\x","B\\":"y"}}"#, Some(("environment key \"B\\\\\"", BadChar::Backslash)))]
    #[case(&BLOCK, r#"{"tickets":{"lic\"":1}}"#, Some(("tickets key \"lic\\\"\"", BadChar::Quote)))]
    #[case(&BLOCK, r#"{"tasks_depend_mask":"a\\d"}"#, Some(("tasks_depend_mask", BadChar::Backslash)))]
    #[case(&TASK, r#"{"name":"sh\"010","command":"x"}"#, Some(("name", BadChar::Quote)))]
    #[case(&TASK, r#"{"name":"sh010","command":"say \"hi\" \\o/"}"#, None)]
    fn objects(
        #[case] schema: &Schema,
        #[case] object: &str,
        #[case] want: Option<(&str, BadChar)>,
    ) {
        let want = want.map(|(f, b)| (f.to_string(), b));
        assert_eq!(find(schema, object), want, "{object}");
    }

    #[test]
    fn messages_say_what_and_how_to_fix() {
        let m = Members::parse(r#"{"hosts_mask":"gpu\\..*","name":"a\u0007"}"#).unwrap();
        let f = first_bad(&BLOCK, |k| m.get(k)).unwrap();
        let (rule, msg) = f.explain("job 'j': block 'b'");
        assert_eq!(rule, ShieldRule::ControlCharacter);
        assert_eq!(
            msg,
            "job 'j': block 'b' name contains the control character U+0007, which afserver 3.4.1 \
             writes unescaped, making its replies and job store invalid JSON; remove it"
        );
        let m = Members::parse(r#"{"hosts_mask":"gpu\\..*"}"#).unwrap();
        let (rule, msg) = first_bad(&BLOCK, |k| m.get(k)).unwrap().explain("job 'j':");
        assert_eq!(rule, ShieldRule::Backslash);
        assert!(msg.ends_with("; use [.] instead of \\."), "{msg}");
    }
}
