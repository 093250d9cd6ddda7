//! A small regex tree for exact name sets, with what libstdc++'s compiler builds for it and how it
//! is written. The state count follows `bits/regex_compiler.tcc` (as `ecma/cost.rs` counts it):
//! one per character or class, a dummy ending every alternative, two per `|`, one per `(?:`,
//! two per `?`. It is what afserver pays on every check (its executor sets up state sized by the
//! automaton on every `regex_match`), so forms are compared by it.

use std::rc::Rc;

use super::dawg::Atom;
use crate::job::mask;

/// A piece of an exact name regex.
#[derive(Debug, Clone)]
pub(super) enum Re {
    /// One atom, or a class of several literal characters.
    Set(Rc<Vec<Atom>>),
    /// Pieces in a row.
    Seq(Vec<Rc<Re>>),
    /// Alternatives (each a sequence), written `(?:a|b)` inside a sequence.
    Alt(Vec<Rc<Re>>),
    /// The piece or nothing: `x?`, `(?:xy)?`.
    Opt(Rc<Re>),
}

impl Re {
    /// The pieces this stands for in a sequence (a sequence is flattened into its parent).
    fn pieces(&self) -> Vec<&Re> {
        match self {
            Re::Seq(items) => items.iter().flat_map(|i| i.pieces()).collect(),
            other => vec![other],
        }
    }

    /// This, or its one piece when it is a sequence of one (`[ab]` rather than `([ab])`).
    pub(super) fn flattened(self) -> Re {
        match self.pieces().as_slice() {
            [one] => (*one).clone(),
            _ => self.clone(),
        }
    }

    /// States of this as one piece of a sequence.
    pub(super) fn piece_states(&self) -> u64 {
        match self {
            Re::Set(_) => 1,
            Re::Seq(_) => self.pieces().iter().map(|p| p.piece_states()).sum(),
            Re::Alt(alts) => 1 + alternation_states(alts),
            Re::Opt(inner) => {
                2 + match inner.pieces().as_slice() {
                    [one] => one.piece_states(),
                    _ => 1 + 1 + inner.piece_states(), // (?: ... ) and its dummy
                }
            }
        }
    }

    /// States of the whole pattern made of this alone (group 0 and the accept state: 3).
    #[cfg(test)]
    pub(super) fn pattern_states(&self) -> u64 {
        3 + match self {
            Re::Alt(alts) => alternation_states(alts),
            other => 1 + other.piece_states(),
        }
    }

    /// The regex text as a whole pattern (a top-level alternation is written without a group).
    pub(super) fn pattern(&self) -> String {
        let mut out = String::new();
        match self {
            Re::Alt(alts) => write_alternatives(alts, &mut out),
            other => other.write(&mut out),
        }
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Re::Set(atoms) => write_set(atoms, out),
            Re::Seq(items) => items.iter().for_each(|i| i.write(out)),
            Re::Alt(alts) => {
                out.push_str("(?:");
                write_alternatives(alts, out);
                out.push(')');
            }
            Re::Opt(inner) => {
                if let [one] = inner.pieces().as_slice() {
                    one.write(out);
                } else {
                    out.push_str("(?:");
                    inner.write(out);
                    out.push(')');
                }
                out.push('?');
            }
        }
    }
}

/// States of `a|b|...` (each alternative a sequence with its dummy), without any group.
fn alternation_states(alts: &[Rc<Re>]) -> u64 {
    let each: u64 = alts.iter().map(|a| 1 + a.piece_states()).sum();
    each + 2 * (alts.len() as u64).saturating_sub(1)
}

fn write_alternatives(alts: &[Rc<Re>], out: &mut String) {
    for (i, alt) in alts.iter().enumerate() {
        if i > 0 {
            out.push('|');
        }
        alt.write(out);
    }
}

fn push_atom(atom: Atom, out: &mut String) {
    match atom {
        Atom::Lit(c) => {
            mask::push_literal(c, out);
        }
        Atom::Any => out.push('.'),
    }
}

/// One atom, or a class of several literal characters (digit runs as ranges, `-` last). `Any`
/// never shares a class (the builder keeps it apart).
fn write_set(atoms: &[Atom], out: &mut String) {
    let mut chars: Vec<char> = atoms
        .iter()
        .filter_map(|a| match a {
            Atom::Lit(c) => Some(*c),
            Atom::Any => None,
        })
        .collect();
    if chars.len() != atoms.len() || chars.len() == 1 {
        if chars.len() == atoms.len() {
            push_atom(atoms[0], out);
        } else {
            out.push('.');
        }
        return;
    }
    chars.sort_unstable();
    let dash = chars.contains(&'-');
    chars.retain(|&c| c != '-');
    out.push('[');
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..]
            .iter()
            .zip(chars[i]..)
            .take_while(|(c, want)| c.is_ascii_digit() && **c == *want)
            .count();
        if run >= 3 {
            out.push(chars[i]);
            out.push('-');
            out.push(chars[i + run - 1]);
            i += run;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    if dash {
        out.push('-');
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::ecma;

    fn set(s: &str) -> Rc<Re> {
        Rc::new(Re::Set(Rc::new(s.chars().map(Atom::of).collect())))
    }

    fn seq(items: Vec<Rc<Re>>) -> Rc<Re> {
        Rc::new(Re::Seq(items))
    }

    #[test]
    fn states_are_counted_as_libstdcxx_counts_them() {
        let cases: Vec<Rc<Re>> = vec![
            set("a"),
            set("abc"),
            seq(vec![set("a"), set("b")]),
            Rc::new(Re::Alt(vec![seq(vec![set("a"), set("1")]), set("b")])),
            seq(vec![
                set("r"),
                Rc::new(Re::Alt(vec![seq(vec![set("a"), set("1")]), set("b")])),
            ]),
            seq(vec![set("r"), Rc::new(Re::Opt(set("0")))]),
            seq(vec![
                set("r"),
                Rc::new(Re::Opt(seq(vec![set("0"), set("1")]))),
            ]),
            seq(vec![
                set("r"),
                Rc::new(Re::Opt(Rc::new(Re::Alt(vec![set("0"), set("12")])))),
            ]),
            set("-.0123"),
        ];
        for re in cases {
            let text = re.pattern();
            let checked = ecma::check(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(re.pattern_states(), checked.states as u64, "{text}");
        }
    }

    #[test]
    fn writes_classes_and_optional_pieces() {
        assert_eq!(set("9-a0178").pattern(), "[017-9a-]");
        assert_eq!(set("0123").pattern(), "[0-3]");
        let opt = seq(vec![
            set("r"),
            Rc::new(Re::Opt(seq(vec![set("0"), set("1")]))),
        ]);
        assert_eq!(opt.pattern(), "r(?:01)?");
        assert_eq!(seq(vec![set("."), set("x")]).pattern(), "[.]x");
    }
}
