//! The token stream of a pattern, as libstdc++'s `_Scanner` cuts it with ECMAScript flags
//! (`bits/regex_scanner.tcc`). It has three states, as libstdc++'s: normal, inside `[...]` and
//! inside `{...}`. The stream depends on the bytes only, never on the parser, so the verdict on a
//! pattern does not depend on when a token is read. Quirks kept on purpose: `]` and `}` alone are
//! ordinary characters, `\cX` is the character `X` itself, `\u0141` keeps only its low byte,
//! `\0` is NUL even before a digit, and `\b` is backspace inside brackets.

use super::refusal::Refusal;

/// One token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tok<'p> {
    /// End of the pattern.
    Eof,
    /// `.`
    Any,
    /// A character: ordinary, escaped, `\xNN` or `\uNNNN`.
    Char(u8),
    /// `\N`: a back-reference (saturating).
    Backref(u64),
    /// `\d \D \s \S \w \W`: the letter.
    Quoted(u8),
    /// `(`
    Open,
    /// `(?:`
    OpenNonCapturing,
    /// `(?=` or `(?!` (`neg`).
    OpenLookahead { neg: bool },
    /// `)`
    Close,
    /// `[` or `[^` (`neg`).
    Bracket { neg: bool },
    /// `]` closing a bracket.
    BracketEnd,
    /// `-` inside a bracket.
    Dash,
    /// `[:name:]` inside a bracket.
    ClassName(&'p [u8]),
    /// `[.name.]` inside a bracket.
    CollatingElement(&'p [u8]),
    /// `[=name=]` inside a bracket.
    EquivalenceClass(&'p [u8]),
    /// `{`
    Brace,
    /// `}` closing a brace.
    BraceEnd,
    /// `,` inside a brace.
    Comma,
    /// A number inside a brace (saturating).
    Count(u64),
    /// `*`
    Star,
    /// `+`
    Plus,
    /// `?`
    Opt,
    /// `|`
    Or,
    /// `^`
    LineBegin,
    /// `$`
    LineEnd,
    /// `\b` or `\B` (`neg`).
    WordBound { neg: bool },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Normal,
    Bracket,
    Brace,
}

/// Cuts a pattern into tokens, one ahead, like libstdc++'s scanner.
pub(super) struct Scanner<'p> {
    pat: &'p [u8],
    pos: usize,
    state: State,
    tok: Tok<'p>,
    at: usize,
}

impl<'p> Scanner<'p> {
    /// A scanner on the first token of `pat`.
    pub(super) fn new(pat: &'p [u8]) -> Result<Self, Refusal> {
        let mut s = Scanner {
            pat,
            pos: 0,
            state: State::Normal,
            tok: Tok::Eof,
            at: 0,
        };
        s.advance()?;
        Ok(s)
    }

    /// The current token.
    pub(super) fn tok(&self) -> Tok<'p> {
        self.tok
    }

    /// Where the current token starts (a byte offset).
    pub(super) fn at(&self) -> usize {
        self.at
    }

    /// Moves to the next token.
    pub(super) fn advance(&mut self) -> Result<(), Refusal> {
        self.at = self.pos;
        self.tok = match (self.pos == self.pat.len(), self.state) {
            (true, _) => Tok::Eof,
            (false, State::Normal) => self.normal()?,
            (false, State::Bracket) => self.bracket()?,
            (false, State::Brace) => self.brace()?,
        };
        Ok(())
    }

    /// Moves on when the current token is `tok`.
    pub(super) fn eat(&mut self, tok: Tok<'_>) -> Result<bool, Refusal> {
        let hit = self.tok == tok;
        if hit {
            self.advance()?;
        }
        Ok(hit)
    }

    fn next_byte(&mut self) -> Option<u8> {
        let b = self.pat.get(self.pos).copied();
        self.pos += usize::from(b.is_some());
        b
    }

    fn error(&self, what: &str) -> Refusal {
        Refusal::syntax(self.at, what)
    }

    fn normal(&mut self) -> Result<Tok<'p>, Refusal> {
        let c = self.pat[self.pos];
        self.pos += 1;
        Ok(match c {
            b'\\' => self.escape()?,
            b'(' => self.open()?,
            b')' => Tok::Close,
            b'[' => {
                self.state = State::Bracket;
                let neg = self.pat.get(self.pos) == Some(&b'^');
                self.pos += usize::from(neg);
                Tok::Bracket { neg }
            }
            b'{' => {
                self.state = State::Brace;
                Tok::Brace
            }
            b'^' => Tok::LineBegin,
            b'$' => Tok::LineEnd,
            b'.' => Tok::Any,
            b'*' => Tok::Star,
            b'+' => Tok::Plus,
            b'?' => Tok::Opt,
            b'|' => Tok::Or,
            c => Tok::Char(c),
        })
    }

    fn open(&mut self) -> Result<Tok<'p>, Refusal> {
        if self.pat.get(self.pos) != Some(&b'?') {
            return Ok(Tok::Open);
        }
        self.pos += 1;
        Ok(match self.next_byte() {
            Some(b':') => Tok::OpenNonCapturing,
            Some(b'=') => Tok::OpenLookahead { neg: false },
            Some(b'!') => Tok::OpenLookahead { neg: true },
            _ => {
                return Err(self
                    .error("'(?' must be followed by ':', '=' or '!' (no named groups or flags)"))
            }
        })
    }

    fn escape(&mut self) -> Result<Tok<'p>, Refusal> {
        let Some(c) = self.next_byte() else {
            return Err(self.error("a lone '\\' at the end"));
        };
        Ok(match c {
            b'0' => Tok::Char(0),
            b'f' => Tok::Char(0x0c),
            b'n' => Tok::Char(b'\n'),
            b'r' => Tok::Char(b'\r'),
            b't' => Tok::Char(b'\t'),
            b'v' => Tok::Char(0x0b),
            b'b' if self.state == State::Bracket => Tok::Char(0x08),
            b'b' => Tok::WordBound { neg: false },
            b'B' => Tok::WordBound { neg: true },
            b'd' | b'D' | b's' | b'S' | b'w' | b'W' => Tok::Quoted(c),
            b'c' => match self.next_byte() {
                Some(x) => Tok::Char(x),
                None => return Err(self.error("'\\c' needs a character after it")),
            },
            b'x' => Tok::Char(self.hex(2)?),
            b'u' => Tok::Char(self.hex(4)?),
            b'1'..=b'9' => Tok::Backref(self.number(c)),
            c => Tok::Char(c),
        })
    }

    /// `n` hex digits; the value keeps its low byte, as libstdc++ stores it in a `char`.
    fn hex(&mut self, n: usize) -> Result<u8, Refusal> {
        let mut value = 0u32;
        for _ in 0..n {
            match self
                .pat
                .get(self.pos)
                .and_then(|b| char::from(*b).to_digit(16))
            {
                Some(d) => value = value * 16 + d,
                None if n == 2 => return Err(self.error("'\\x' needs two hex digits")),
                None => return Err(self.error("'\\u' needs four hex digits")),
            }
            self.pos += 1;
        }
        Ok(value as u8)
    }

    /// The decimal number starting with digit `first`, then every digit after it (saturating).
    fn number(&mut self, first: u8) -> u64 {
        let mut value = u64::from(first - b'0');
        while let Some(d) = self.pat.get(self.pos).filter(|b| b.is_ascii_digit()) {
            value = value.saturating_mul(10).saturating_add(u64::from(d - b'0'));
            self.pos += 1;
        }
        value
    }

    fn bracket(&mut self) -> Result<Tok<'p>, Refusal> {
        let c = self.pat[self.pos];
        self.pos += 1;
        Ok(match c {
            b'-' => Tok::Dash,
            b'[' => match self.next_byte() {
                None => return Err(self.error("unclosed '[['")),
                Some(b'.') => Tok::CollatingElement(self.name(b'.')?),
                Some(b':') => Tok::ClassName(self.name(b':')?),
                Some(b'=') => Tok::EquivalenceClass(self.name(b'=')?),
                Some(_) => {
                    self.pos -= 1;
                    Tok::Char(b'[')
                }
            },
            b']' => {
                self.state = State::Normal;
                Tok::BracketEnd
            }
            b'\\' => self.escape()?,
            c => Tok::Char(c),
        })
    }

    /// The name in `[:name:]` (or with `.`/`=`): up to the first `delim`, which `]` must follow.
    fn name(&mut self, delim: u8) -> Result<&'p [u8], Refusal> {
        let start = self.pos;
        let len = self.pat[start..].iter().position(|b| *b == delim);
        let end = len.map(|l| start + l);
        match end {
            Some(end) if self.pat.get(end + 1) == Some(&b']') => {
                self.pos = end + 2;
                Ok(&self.pat[start..end])
            }
            _ => {
                let d = char::from(delim);
                Err(self.error(&format!("'[{d}' without a closing '{d}]'")))
            }
        }
    }

    fn brace(&mut self) -> Result<Tok<'p>, Refusal> {
        let c = self.pat[self.pos];
        self.pos += 1;
        Ok(match c {
            b'0'..=b'9' => Tok::Count(self.number(c)),
            b',' => Tok::Comma,
            b'}' => {
                self.state = State::Normal;
                Tok::BraceEnd
            }
            _ => return Err(self.error("'{...}' may hold only numbers and a comma")),
        })
    }
}
