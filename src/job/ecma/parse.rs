//! The grammar, as libstdc++'s `_Compiler` (`bits/regex_compiler.tcc`) walks it:
//!
//! ```text
//! disjunction := alternative ('|' alternative)*
//! alternative := term*
//! term        := assertion | atom quantifier*
//! assertion   := '^' | '$' | '\b' | '\B' | '(?=' disjunction ')' | '(?!' disjunction ')'
//! atom        := '.' | char | '\N' | '\d'.. | '(' disjunction ')' | '(?:' disjunction ')' | '[' .. ']'
//! quantifier  := ('*' | '+' | '?' | '{' n (',' n?)? '}') '?'?
//! ```
//!
//! So assertions take no quantifier (`^*` is refused), quantifiers stack (`a**` is valid), and a
//! token that cannot start a term ends the alternative, leaving the caller to refuse it unless it
//! is `|`, `)` in a group, or the end. A back-reference must name a group already closed. While
//! parsing it sums the [`Cost`] and tracks how deep afserver's recursive compiler would go.

use super::ast::{Ast, Node, NodeId};
use super::bracket::bracket;
use super::bytes;
use super::cost::Cost;
use super::refusal::Refusal;
use super::scan::{Scanner, Tok};
use super::{MAX_COMPILE_DEPTH, MAX_NESTING};

/// A parsed pattern with its cost.
pub(super) struct Parsed {
    /// The tree.
    pub(super) ast: Ast,
    /// The whole pattern's cost.
    pub(super) cost: Cost,
    /// The deepest the compiler's recursion goes, in pieces (a group counts 5).
    pub(super) compile_depth: u64,
}

/// Parses a pattern libstdc++ would accept (the state limit and afserver's safety are checked by
/// the caller), or says why libstdc++ refuses it.
pub(super) fn parse(pattern: &[u8]) -> Result<Parsed, Refusal> {
    let mut p = Parser {
        scan: Scanner::new(pattern)?,
        ast: Ast {
            groups: 1,
            ..Ast::default()
        },
        open: vec![0],
        scratch: Vec::new(),
        nesting: 0,
        depth: 0,
        max_depth: 0,
    };
    let (root, cost) = p.disjunction()?;
    if p.scan.tok() != Tok::Eof {
        return Err(p.stray(None));
    }
    p.ast.root = root;
    Ok(Parsed {
        ast: p.ast,
        cost: cost.whole(),
        compile_depth: p.max_depth,
    })
}

/// A quantifier just read.
struct Quantifier {
    min: u64,
    max: Option<u64>,
    lazy: bool,
    kind: Kind,
}

#[derive(PartialEq)]
enum Kind {
    Star,
    Plus,
    Opt,
    Counted,
}

struct Parser<'p> {
    scan: Scanner<'p>,
    ast: Ast,
    /// Capture groups still open (group 0 always is).
    open: Vec<u32>,
    /// Children being collected by the sequences and alternations under way.
    scratch: Vec<NodeId>,
    nesting: usize,
    depth: u64,
    max_depth: u64,
}

impl Parser<'_> {
    fn disjunction(&mut self) -> Result<(NodeId, Cost), Refusal> {
        let mark = self.scratch.len();
        let (first, mut cost) = self.alternative()?;
        self.scratch.push(first);
        while self.scan.eat(Tok::Or)? {
            let (next, c) = self.alternative()?;
            self.scratch.push(next);
            cost = cost.or(c);
        }
        let node = self.finish_list(mark, |first, len| Node::Alt { first, len });
        Ok((node, cost))
    }

    fn alternative(&mut self) -> Result<(NodeId, Cost), Refusal> {
        let (mark, base) = (self.scratch.len(), self.depth);
        let mut cost = Cost::empty_sequence();
        loop {
            self.depth += 1;
            self.max_depth = self.max_depth.max(self.depth);
            let Some((node, c)) = self.term()? else { break };
            self.scratch.push(node);
            cost = cost.then(c);
        }
        self.depth = base;
        let node = self.finish_list(mark, |first, len| Node::Concat { first, len });
        Ok((node, cost))
    }

    fn finish_list(&mut self, mark: usize, make: fn(u32, u32) -> Node) -> NodeId {
        let node = self.ast.list(&self.scratch[mark..], make);
        self.scratch.truncate(mark);
        node
    }

    fn term(&mut self) -> Result<Option<(NodeId, Cost)>, Refusal> {
        if let Some(assertion) = self.assertion()? {
            return Ok(Some(assertion));
        }
        let Some((mut node, mut cost)) = self.atom()? else {
            return Ok(None);
        };
        let nesting = self.nesting;
        while let Some(q) = self.quantifier()? {
            self.enter()?;
            (node, cost) = self.repeat(node, cost, q);
        }
        self.nesting = nesting;
        Ok(Some((node, cost)))
    }

    fn assertion(&mut self) -> Result<Option<(NodeId, Cost)>, Refusal> {
        let node = match self.scan.tok() {
            Tok::LineBegin => Node::LineBegin,
            Tok::LineEnd => Node::LineEnd,
            Tok::WordBound { neg } => Node::WordBound { neg },
            Tok::OpenLookahead { neg } => {
                let (body, cost) = self.group()?;
                let node = self.ast.push(Node::Lookahead { neg, body });
                return Ok(Some((node, cost.lookahead())));
            }
            _ => return Ok(None),
        };
        self.scan.advance()?;
        Ok(Some((self.ast.push(node), Cost::state(true))))
    }

    fn atom(&mut self) -> Result<Option<(NodeId, Cost)>, Refusal> {
        let at = self.scan.at();
        let (node, cost) = match self.scan.tok() {
            Tok::Any => (Node::Any, Cost::state(false)),
            Tok::Char(c) => (Node::Byte(c), Cost::state(false)),
            Tok::Backref(n) => (Node::Backref(self.backref(n, at)?), Cost::backref()),
            Tok::Quoted(letter) => return self.quoted(letter).map(Some),
            Tok::Bracket { neg } => {
                self.scan.advance()?;
                let sets = bracket(&mut self.scan, neg)?;
                return Ok(Some((self.ast.class(sets), Cost::state(false))));
            }
            Tok::OpenNonCapturing => {
                let (body, cost) = self.group()?;
                let node = self.ast.push(Node::Group { index: None, body });
                return Ok(Some((node, cost.group(false))));
            }
            Tok::Open => return self.capture().map(Some),
            _ => return Ok(None),
        };
        self.scan.advance()?;
        Ok(Some((self.ast.push(node), cost)))
    }

    fn quoted(&mut self, letter: u8) -> Result<(NodeId, Cost), Refusal> {
        self.scan.advance()?;
        let set = bytes::class(&[letter], false).unwrap_or_default();
        let set = if letter.is_ascii_uppercase() {
            set.complement()
        } else {
            set
        };
        Ok((self.ast.class([set, set]), Cost::state(false)))
    }

    fn capture(&mut self) -> Result<(NodeId, Cost), Refusal> {
        let index = self.ast.groups;
        self.ast.groups += 1;
        self.open.push(index);
        let (body, cost) = self.group()?;
        self.open.pop();
        let node = self.ast.push(Node::Group {
            index: Some(index),
            body,
        });
        Ok((node, cost.group(true)))
    }

    /// The disjunction inside a group whose opening token is current, through its `)`.
    fn group(&mut self) -> Result<(NodeId, Cost), Refusal> {
        let open_at = self.scan.at();
        self.scan.advance()?;
        self.enter()?;
        self.depth += 5;
        let inner = self.disjunction()?;
        self.depth -= 5;
        self.nesting -= 1;
        if !self.scan.eat(Tok::Close)? {
            return Err(self.stray(Some(open_at)));
        }
        Ok(inner)
    }

    /// One more level of groups or stacked quantifiers.
    fn enter(&mut self) -> Result<(), Refusal> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(Refusal::Unsafe(format!(
                "groups and repeats nested more than {MAX_NESTING} deep \
                 (afserver's regex engine could run out of stack)"
            )));
        }
        Ok(())
    }

    fn backref(&self, n: u64, at: usize) -> Result<u32, Refusal> {
        if n >= u64::from(self.ast.groups) {
            return Err(Refusal::syntax(
                at,
                &format!("back-reference \\{n} to a group not yet seen"),
            ));
        }
        if self.open.contains(&(n as u32)) {
            return Err(Refusal::syntax(
                at,
                &format!("back-reference \\{n} inside its own group"),
            ));
        }
        Ok(n as u32)
    }

    fn quantifier(&mut self) -> Result<Option<Quantifier>, Refusal> {
        let at = self.scan.at();
        let (kind, min, max) = match self.scan.tok() {
            Tok::Star => (Kind::Star, 0, None),
            Tok::Plus => (Kind::Plus, 1, None),
            Tok::Opt => (Kind::Opt, 0, Some(1)),
            Tok::Brace => {
                self.scan.advance()?;
                let (min, max) = self.counts(at)?;
                (Kind::Counted, min, max)
            }
            _ => return Ok(None),
        };
        if kind != Kind::Counted {
            self.scan.advance()?;
        }
        let lazy = self.scan.eat(Tok::Opt)?;
        Ok(Some(Quantifier {
            min,
            max,
            lazy,
            kind,
        }))
    }

    /// `n}`, `n,}` or `n,m}` after a `{` at `at`.
    fn counts(&mut self, at: usize) -> Result<(u64, Option<u64>), Refusal> {
        let Tok::Count(min) = self.scan.tok() else {
            return Err(Refusal::syntax(
                at,
                "'{' must start with a number, as in 'x{2}'",
            ));
        };
        self.scan.advance()?;
        let mut max = Some(min);
        if self.scan.eat(Tok::Comma)? {
            max = None;
            if let Tok::Count(n) = self.scan.tok() {
                self.scan.advance()?;
                max = Some(n);
            }
        }
        if !self.scan.eat(Tok::BraceEnd)? {
            return Err(Refusal::syntax(at, "unclosed '{'"));
        }
        if min.max(max.unwrap_or(0)) > i32::MAX as u64 {
            return Err(Refusal::Unsafe(format!(
                "repeat count at {} is too large",
                at + 1
            )));
        }
        if max.is_some_and(|max| max < min) {
            return Err(Refusal::syntax(at, "'{min,max}' with max below min"));
        }
        Ok((min, max))
    }

    fn repeat(&mut self, body: NodeId, cost: Cost, q: Quantifier) -> (NodeId, Cost) {
        let cost = match q.kind {
            Kind::Star => cost.looped(false, q.lazy),
            Kind::Plus => cost.looped(true, q.lazy),
            Kind::Opt => cost.optional(q.lazy),
            Kind::Counted => cost.counted(q.min, q.max, q.lazy),
        };
        let node = Node::Repeat {
            body,
            min: q.min as u32,
            max: q.max.map(|m| m as u32),
            lazy: q.lazy,
            plus: q.kind == Kind::Plus,
        };
        (self.ast.push(node), cost)
    }

    /// The refusal for a token that ended an alternative where it cannot stand; `open_at` is
    /// where the enclosing group opened (`None` at the top).
    fn stray(&self, open_at: Option<usize>) -> Refusal {
        let at = self.scan.at();
        match (self.scan.tok(), open_at) {
            (Tok::Eof, Some(open)) => Refusal::syntax(open, "unmatched '('"),
            (Tok::Close, _) => Refusal::syntax(at, "unmatched ')'"),
            (Tok::Star | Tok::Plus | Tok::Opt | Tok::Brace, _) => Refusal::syntax(
                at,
                "nothing to repeat (a quantifier needs a character or group before it)",
            ),
            _ => Refusal::syntax(at, "unexpected token"),
        }
    }
}

fn too_long() -> Refusal {
    Refusal::Unsafe(format!(
        "more than {MAX_COMPILE_DEPTH} pieces in a row (afserver's regex compiler could run out \
         of stack); split the pattern into groups"
    ))
}

/// Refuses a parse whose compiler recursion would go deeper than afserver's stack allows.
pub(super) fn check_depth(parsed: &Parsed) -> Result<(), Refusal> {
    if parsed.compile_depth > MAX_COMPILE_DEPTH {
        return Err(too_long());
    }
    Ok(())
}
