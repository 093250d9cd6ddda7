//! A small Rust tokenizer for the module graph: identifiers, `::`, string contents and single
//! punctuation, with comments, char literals and lifetimes dropped, so a path written in a doc
//! comment or a string is never read as an import.

/// One token of Rust source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// An identifier or keyword (raw identifiers without their `r#`), or a number.
    Ident(String),
    /// A string literal's contents (escapes left as written).
    Str(String),
    /// `::`.
    Path,
    /// Any other punctuation character.
    Punct(char),
}

/// The tokens of `src`.
pub fn tokens(src: &str) -> Vec<Tok> {
    let s: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        let next = s.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i = skip_block_comment(&s, i);
        } else if let Some((end, body)) = string_at(&s, i) {
            out.push(Tok::Str(body));
            i = end;
        } else if c == '\'' {
            i = skip_quote(&s, i);
        } else if c == ':' && next == Some(':') {
            out.push(Tok::Path);
            i += 2;
        } else if c.is_alphanumeric() || c == '_' {
            let start = if c == 'r' && next == Some('#') {
                i + 2
            } else {
                i
            };
            let mut end = start;
            while end < s.len() && (s[end].is_alphanumeric() || s[end] == '_') {
                end += 1;
            }
            out.push(Tok::Ident(s[start..end].iter().collect()));
            i = end.max(i + 1);
        } else {
            out.push(Tok::Punct(c));
            i += 1;
        }
    }
    out
}

/// The index after the (possibly nested) block comment starting at `i`.
fn skip_block_comment(s: &[char], mut i: usize) -> usize {
    let mut depth = 0;
    while i < s.len() {
        if s[i] == '/' && s.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if s[i] == '*' && s.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// A string literal (`"..."`, `b"..."`, `r#"..."#`, `br"..."`) at `i`: its end and contents.
fn string_at(s: &[char], i: usize) -> Option<(usize, String)> {
    let prev_ident = i > 0 && (s[i - 1].is_alphanumeric() || s[i - 1] == '_');
    if prev_ident {
        return None;
    }
    let mut j = i;
    if s[j] == 'b' {
        j += 1;
    }
    let raw = s.get(j) == Some(&'r');
    if raw {
        j += 1;
    }
    let mut hashes = 0;
    while raw && s.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    if s.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    let start = j;
    while j < s.len() {
        if !raw && s[j] == '\\' {
            j += 2;
            continue;
        }
        if s[j] == '"' && (0..hashes).all(|h| s.get(j + 1 + h) == Some(&'#')) {
            return Some((j + 1 + hashes, s[start..j].iter().collect()));
        }
        j += 1;
    }
    Some((s.len(), s[start..].iter().collect()))
}

/// The index after a char literal (`'a'`, `'\n'`) or a lifetime (`'a`) starting at `i`.
fn skip_quote(s: &[char], i: usize) -> usize {
    if s.get(i + 1) == Some(&'\\') {
        let mut j = i + 2;
        while j < s.len() && s[j] != '\'' {
            j += 1;
        }
        return j + 1;
    }
    if s.get(i + 2) == Some(&'\'') {
        return i + 3;
    }
    let mut j = i + 1;
    while j < s.len() && (s[j].is_alphanumeric() || s[j] == '_') {
        j += 1;
    }
    j
}

/// `toks` without the items under `#[cfg(test)]`: test code is not part of the module graph.
pub fn without_tests(toks: &[Tok]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if is_cfg_test(&toks[i..]) {
            i = skip_item(toks, i + 7);
        } else {
            out.push(toks[i].clone());
            i += 1;
        }
    }
    out
}

fn is_cfg_test(t: &[Tok]) -> bool {
    let want = ["#", "[", "cfg", "(", "test", ")", "]"];
    t.len() >= want.len() && t.iter().zip(want).all(|(tok, w)| text(tok) == w)
}

fn text(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => s.clone(),
        Tok::Punct(c) => c.to_string(),
        Tok::Path => "::".into(),
        Tok::Str(_) => "\"".into(),
    }
}

/// The index after the item starting at `i`: up to its `;` or its closing brace.
fn skip_item(toks: &[Tok], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < toks.len() {
        match toks[i] {
            Tok::Punct('{' | '(' | '[') => depth += 1,
            Tok::Punct(')' | ']') => depth = depth.saturating_sub(1),
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            Tok::Punct(';') if depth == 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    i
}
