//! `[...]` as libstdc++'s `_Compiler::_M_insert_bracket_matcher` and `_M_expression_term` read
//! it with ECMAScript flags: the first `]` closes (`[]` matches nothing, `[^]` any byte); `-` is
//! a literal first, last, or after a range; a range cannot start or end with a class; bounds
//! compare as signed `char` (so `[a-\xe9]` is out of order). Each item adds bytes to two sets,
//! one per case mode, as libstdc++'s matcher cache would hold them for `icase` off and on.

use super::bytes::{self, ByteSet};
use super::refusal::Refusal;
use super::scan::{Scanner, Tok};

/// What the previous item was: a range can start only from a single character.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Last {
    Nothing,
    Char(u8),
    Class,
}

/// The bytes a bracket matches, built item by item.
struct Sets {
    exact: ByteSet,
    icase: ByteSet,
    last: Last,
}

impl Sets {
    fn add_char(&mut self, c: u8) {
        self.exact.insert(c);
        self.icase
            .union(&ByteSet::from_fn(|b| bytes::lower(b) == bytes::lower(c)));
    }

    /// Keeps `c` as a possible range start; the character kept before it is added.
    fn push_char(&mut self, c: u8) {
        self.flush();
        self.last = Last::Char(c);
    }

    fn push_class(&mut self) {
        self.flush();
        self.last = Last::Class;
    }

    fn flush(&mut self) {
        if let Last::Char(c) = self.last {
            self.add_char(c);
        }
    }

    fn add_range(&mut self, lo: u8, hi: u8, at: usize) -> Result<(), Refusal> {
        let (lo, hi) = (bytes::signed(lo), bytes::signed(hi));
        if lo > hi {
            return Err(Refusal::syntax(at, "range out of order in '[...]'"));
        }
        let within = |b: u8| (lo..=hi).contains(&bytes::signed(b));
        self.exact.union(&ByteSet::from_fn(within));
        self.icase.union(&ByteSet::from_fn(|b| {
            within(bytes::lower(b)) || within(bytes::upper(b))
        }));
        self.last = Last::Nothing;
        Ok(())
    }

    fn add_class(&mut self, name: &[u8], negated: bool, at: usize) -> Result<(), Refusal> {
        self.push_class();
        let (Some(exact), Some(icase)) = (bytes::class(name, false), bytes::class(name, true))
        else {
            let name = String::from_utf8_lossy(name);
            return Err(Refusal::syntax(
                at,
                &format!("unknown character class '[:{name}:]'"),
            ));
        };
        let pick = |set: ByteSet| if negated { set.complement() } else { set };
        self.exact.union(&pick(exact));
        self.icase.union(&pick(icase));
        Ok(())
    }
}

/// Reads a bracket's items up to its `]`; the scanner is on the token after `[` or `[^`.
pub(super) fn bracket(scan: &mut Scanner<'_>, negated: bool) -> Result<[ByteSet; 2], Refusal> {
    let mut sets = Sets {
        exact: ByteSet::default(),
        icase: ByteSet::default(),
        last: Last::Nothing,
    };
    if let Tok::Char(c) = scan.tok() {
        scan.advance()?;
        sets.last = Last::Char(c);
    } else if scan.eat(Tok::Dash)? {
        sets.last = Last::Char(b'-');
    }
    while item(scan, &mut sets)? {}
    sets.flush();
    Ok(if negated {
        [sets.exact.complement(), sets.icase.complement()]
    } else {
        [sets.exact, sets.icase]
    })
}

/// One item; false at the closing `]`.
fn item(scan: &mut Scanner<'_>, sets: &mut Sets) -> Result<bool, Refusal> {
    let at = scan.at();
    let tok = scan.tok();
    if tok == Tok::BracketEnd {
        scan.advance()?;
        return Ok(false);
    }
    scan.advance()?;
    match tok {
        Tok::Char(c) => sets.push_char(c),
        Tok::Dash => return dash(scan, sets, at),
        Tok::CollatingElement(name) => {
            let c = element(name, at, "collating element '[.")?;
            sets.add_char(c);
            sets.push_char(c);
        }
        Tok::EquivalenceClass(name) => {
            sets.push_class();
            let c = element(name, at, "equivalence class '[=")?;
            let same = ByteSet::either_case(c);
            sets.exact.union(&same);
            sets.icase.union(&same);
        }
        Tok::ClassName(name) => sets.add_class(name, false, at)?,
        Tok::Quoted(letter) => sets.add_class(&[letter], letter.is_ascii_uppercase(), at)?,
        Tok::Eof => return Err(Refusal::syntax(at, "unclosed '['")),
        Tok::WordBound { .. } => return Err(Refusal::syntax(at, "'\\B' inside '[...]'")),
        Tok::Backref(_) => return Err(Refusal::syntax(at, "a back-reference inside '[...]'")),
        _ => return Err(Refusal::syntax(at, "unexpected token inside '[...]'")),
    }
    Ok(true)
}

/// A `-` that is not the bracket's first item.
fn dash(scan: &mut Scanner<'_>, sets: &mut Sets, at: usize) -> Result<bool, Refusal> {
    if scan.eat(Tok::BracketEnd)? {
        sets.push_char(b'-');
        return Ok(false);
    }
    match sets.last {
        Last::Class => Err(Refusal::syntax(
            at,
            "a range in '[...]' cannot start with a class",
        )),
        Last::Char(lo) => match scan.tok() {
            Tok::Char(hi) => {
                scan.advance()?;
                sets.add_range(lo, hi, at).map(|()| true)
            }
            Tok::Dash => {
                scan.advance()?;
                sets.add_range(lo, b'-', at).map(|()| true)
            }
            _ => Err(Refusal::syntax(
                at,
                "a range in '[...]' must end with a character",
            )),
        },
        Last::Nothing => {
            sets.push_char(b'-');
            Ok(true)
        }
    }
}

fn element(name: &[u8], at: usize, what: &str) -> Result<u8, Refusal> {
    bytes::collating_element(name).ok_or_else(|| {
        let name = String::from_utf8_lossy(name);
        let close = if what.ends_with('.') { ".]'" } else { "=]'" };
        Refusal::syntax(at, &format!("unknown {what}{name}{close}"))
    })
}
