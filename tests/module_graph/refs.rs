//! The paths one module names: every leaf of its `use` trees (`use a::{b, c::d as e}` names
//! `a::b` and `a::c::d`), and every `crate::`/`super::`/`self::` path (`afpool::` in a binary)
//! written in its code.

use super::lex::Tok;

/// One path as written, before resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    /// The segments as written (`["super", "report", "Done"]`); a glob's path ends before `*`.
    pub path: Vec<String>,
    /// What a `pub use` leaf binds (its last segment or its `as` name); `None` otherwise.
    pub exported: Option<String>,
}

/// Every path `toks` names.
pub fn refs(toks: &[Tok], binary: bool) -> Vec<Ref> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if ident(toks, i) == Some("use") && !after_path(toks, i) {
            let public = is_pub(toks, i);
            i += 1;
            let mut leaves = Vec::new();
            use_tree(toks, &mut i, Vec::new(), &mut leaves);
            out.extend(leaves.into_iter().map(|(path, name)| Ref {
                path,
                exported: if public { name } else { None },
            }));
        } else if let Some(path) = code_path(toks, i, binary) {
            i += path.len() * 2 - 1;
            out.push(Ref {
                path,
                exported: None,
            });
        } else {
            i += 1;
        }
    }
    out
}

fn ident(toks: &[Tok], i: usize) -> Option<&str> {
    match toks.get(i) {
        Some(Tok::Ident(s)) => Some(s),
        _ => None,
    }
}

fn after_path(toks: &[Tok], i: usize) -> bool {
    i > 0 && matches!(toks[i - 1], Tok::Path | Tok::Punct('$'))
}

/// `pub use`, `pub(crate) use`, `pub(super) use`, `pub(in path) use`.
fn is_pub(toks: &[Tok], i: usize) -> bool {
    if i >= 1 && ident(toks, i - 1) == Some("pub") {
        return true;
    }
    if i >= 1 && toks[i - 1] == Tok::Punct(')') {
        let open = toks[..i - 1].iter().rposition(|t| *t == Tok::Punct('('));
        return open.is_some_and(|o| o >= 1 && ident(toks, o - 1) == Some("pub"));
    }
    false
}

/// Parse one use tree at `*i` under `prefix`, pushing `(path, bound name)` leaves; stops after
/// the tree (at `,`, `}` or `;`, which it leaves for the caller except the final `;`).
fn use_tree(
    toks: &[Tok],
    i: &mut usize,
    prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>)>,
) {
    let mut path = prefix;
    if toks.get(*i) == Some(&Tok::Path) {
        *i += 1;
    }
    loop {
        match toks.get(*i) {
            Some(Tok::Ident(seg)) => {
                *i += 1;
                if toks.get(*i) == Some(&Tok::Path) {
                    path.push(seg.clone());
                    *i += 1;
                    continue;
                }
                let mut name = seg.clone();
                if seg != "self" {
                    path.push(seg.clone());
                }
                if ident(toks, *i) == Some("as") {
                    name = ident(toks, *i + 1).unwrap_or("_").to_string();
                    *i += 2;
                } else if seg == "self" {
                    name = path.last().cloned().unwrap_or_default();
                }
                out.push((path, Some(name)));
                break;
            }
            Some(Tok::Punct('*')) => {
                *i += 1;
                out.push((path, None));
                break;
            }
            Some(Tok::Punct('{')) => {
                *i += 1;
                while !matches!(toks.get(*i), None | Some(Tok::Punct('}'))) {
                    use_tree(toks, i, path.clone(), out);
                    if toks.get(*i) == Some(&Tok::Punct(',')) {
                        *i += 1;
                    }
                }
                *i += 1;
                break;
            }
            _ => break,
        }
    }
    if toks.get(*i) == Some(&Tok::Punct(';')) {
        *i += 1;
    }
}

/// A path in code starting at `i` with `crate`, `super` or `self` (or `afpool` in a binary):
/// its identifier segments up to the first non-`::ident` step.
fn code_path(toks: &[Tok], i: usize, binary: bool) -> Option<Vec<String>> {
    let first = ident(toks, i)?;
    let rooted = matches!(first, "crate" | "super" | "self") || (binary && first == "afpool");
    if !rooted || after_path(toks, i) || toks.get(i + 1) != Some(&Tok::Path) {
        return None;
    }
    let mut path = vec![first.to_string()];
    let mut j = i + 1;
    while toks.get(j) == Some(&Tok::Path) {
        match ident(toks, j + 1) {
            Some(seg) => path.push(seg.to_string()),
            None => break,
        }
        j += 2;
    }
    Some(path)
}
