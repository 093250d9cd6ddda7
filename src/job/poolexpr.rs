//! Pool expressions: a job may name several pools at once, `gpu|cpu` (union), `gpu&linux`
//! (intersection), `gpu&!old` (difference), with parentheses; `!` binds tightest, then `&`,
//! then `|`. Names are what lies between operators, trimmed. An existing pool whose exact name
//! is the whole reference is that pool, never an expression (routing looks it up first), so no
//! studio's pool name changes meaning.
//!
//! An expression is a set of hosts named by pools, never "every host but": `!old` alone, or
//! `gpu|!old`, would need the whole farm (hosts afpool has never seen included) and is refused.

use std::collections::{HashMap, HashSet};
use std::fmt;

/// The characters that make a pool reference an expression (new pool names may not hold them).
pub const OPERATORS: &[char] = &['|', '&', '!', '(', ')'];

/// A parsed pool expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolExpr {
    /// One pool, by exact name.
    Name(String),
    /// Hosts in either side.
    Union(Box<PoolExpr>, Box<PoolExpr>),
    /// Hosts in both sides.
    Both(Box<PoolExpr>, Box<PoolExpr>),
    /// Hosts not in the inner expression (only meaningful beside a positive side).
    Not(Box<PoolExpr>),
}

/// Why a reference is not a valid expression, at a 1-based character column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at column {column}")]
pub struct ExprError {
    /// 1-based character column of the problem.
    pub column: usize,
    /// What is wrong there.
    pub message: String,
}

/// Why an expression names no host set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// A name inside the expression is no pool.
    #[error("unknown pool '{0}'")]
    Unknown(String),
    /// The result is "every host but ...": it needs a pool to start from.
    #[error("it names every host outside some pools; start from a pool, as in 'gpu&!old'")]
    Unbounded,
}

/// True when `reference` holds an operator, so it is read as an expression when no pool has
/// exactly that name.
pub fn is_expression(reference: &str) -> bool {
    reference.contains(OPERATORS)
}

impl PoolExpr {
    /// Parses `text` (see the module documentation).
    pub fn parse(text: &str) -> Result<PoolExpr, ExprError> {
        let mut p = Parser {
            chars: text.chars().collect(),
            at: 0,
        };
        let expr = p.union()?;
        p.skip_spaces();
        match p.peek() {
            None => Ok(expr),
            Some(')') => Err(p.error("')' without its '('")),
            Some(c) => Err(p.error(&format!("unexpected '{c}'"))),
        }
    }

    /// The expression with pool names replaced as `renames` says (old name → new name), or
    /// `None` when it names none of them.
    pub fn renamed(&self, renames: &HashMap<String, String>) -> Option<PoolExpr> {
        let pair = |a: &PoolExpr, b: &PoolExpr| match (a.renamed(renames), b.renamed(renames)) {
            (None, None) => None,
            (x, y) => Some((
                Box::new(x.unwrap_or_else(|| a.clone())),
                Box::new(y.unwrap_or_else(|| b.clone())),
            )),
        };
        match self {
            PoolExpr::Name(n) => renames.get(n).map(|new| PoolExpr::Name(new.clone())),
            PoolExpr::Not(e) => e.renamed(renames).map(|e| PoolExpr::Not(Box::new(e))),
            PoolExpr::Union(a, b) => pair(a, b).map(|(a, b)| PoolExpr::Union(a, b)),
            PoolExpr::Both(a, b) => pair(a, b).map(|(a, b)| PoolExpr::Both(a, b)),
        }
    }

    /// The pools whose hosts the expression can take, in order (every name outside a `!`):
    /// the pools whose policy a job routed into it must pass.
    pub fn positive_names(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_positive(&mut out);
        out
    }

    fn collect_positive<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            PoolExpr::Name(n) if !out.contains(&n.as_str()) => out.push(n),
            PoolExpr::Name(_) | PoolExpr::Not(_) => {}
            PoolExpr::Union(a, b) | PoolExpr::Both(a, b) => {
                a.collect_positive(out);
                b.collect_positive(out);
            }
        }
    }

    /// The expression's hosts, from each pool's member set (as `members` gives them).
    pub fn eval<'a>(
        &self,
        members: &impl Fn(&str) -> Option<&'a HashSet<String>>,
    ) -> Result<HashSet<String>, EvalError> {
        match self.signed(members)? {
            (set, false) => Ok(set),
            (_, true) => Err(EvalError::Unbounded),
        }
    }

    /// A set and whether it stands for its complement (`!x`): no universe is ever needed.
    fn signed<'a>(
        &self,
        members: &impl Fn(&str) -> Option<&'a HashSet<String>>,
    ) -> Result<(HashSet<String>, bool), EvalError> {
        let minus = |a: HashSet<String>, b: &HashSet<String>| {
            a.into_iter().filter(|h| !b.contains(h)).collect()
        };
        let and = |a: HashSet<String>, b: &HashSet<String>| {
            a.into_iter().filter(|h| b.contains(h)).collect()
        };
        Ok(match self {
            PoolExpr::Name(n) => match members(n) {
                Some(set) => (set.clone(), false),
                None => return Err(EvalError::Unknown(n.clone())),
            },
            PoolExpr::Not(e) => {
                let (set, negated) = e.signed(members)?;
                (set, !negated)
            }
            PoolExpr::Union(a, b) => match (a.signed(members)?, b.signed(members)?) {
                ((mut a, false), (b, false)) => {
                    a.extend(b);
                    (a, false)
                }
                ((a, true), (b, true)) => (and(a, &b), true),
                ((neg, true), (pos, false)) | ((pos, false), (neg, true)) => {
                    (minus(neg, &pos), true)
                }
            },
            PoolExpr::Both(a, b) => match (a.signed(members)?, b.signed(members)?) {
                ((a, false), (b, false)) => (and(a, &b), false),
                ((mut a, true), (b, true)) => {
                    a.extend(b);
                    (a, true)
                }
                ((neg, true), (pos, false)) | ((pos, false), (neg, true)) => {
                    (minus(pos, &neg), false)
                }
            },
        })
    }
}

impl fmt::Display for PoolExpr {
    /// The canonical text: operators without spaces, parentheses only where needed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolExpr::Name(n) => f.write_str(n),
            PoolExpr::Not(e) => match **e {
                PoolExpr::Name(_) | PoolExpr::Not(_) => write!(f, "!{e}"),
                _ => write!(f, "!({e})"),
            },
            PoolExpr::Both(a, b) => {
                let side = |e: &PoolExpr| match e {
                    PoolExpr::Union(..) => format!("({e})"),
                    _ => e.to_string(),
                };
                write!(f, "{}&{}", side(a), side(b))
            }
            PoolExpr::Union(a, b) => write!(f, "{a}|{b}"),
        }
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn error(&self, message: &str) -> ExprError {
        ExprError {
            column: self.at + 1,
            message: message.to_string(),
        }
    }

    fn union(&mut self) -> Result<PoolExpr, ExprError> {
        let mut left = self.both()?;
        loop {
            self.skip_spaces();
            if self.peek() != Some('|') {
                return Ok(left);
            }
            self.at += 1;
            left = PoolExpr::Union(Box::new(left), Box::new(self.both()?));
        }
    }

    fn both(&mut self) -> Result<PoolExpr, ExprError> {
        let mut left = self.unary()?;
        loop {
            self.skip_spaces();
            if self.peek() != Some('&') {
                return Ok(left);
            }
            self.at += 1;
            left = PoolExpr::Both(Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<PoolExpr, ExprError> {
        self.skip_spaces();
        match self.peek() {
            Some('!') => {
                self.at += 1;
                Ok(PoolExpr::Not(Box::new(self.unary()?)))
            }
            Some('(') => {
                let open = self.at;
                self.at += 1;
                let inner = self.union()?;
                self.skip_spaces();
                if self.peek() != Some(')') {
                    self.at = open;
                    return Err(self.error("'(' is never closed"));
                }
                self.at += 1;
                Ok(inner)
            }
            _ => self.name(),
        }
    }

    fn name(&mut self) -> Result<PoolExpr, ExprError> {
        let start = self.at;
        while self.peek().is_some_and(|c| !OPERATORS.contains(&c)) {
            self.at += 1;
        }
        let name: String = self.chars[start..self.at].iter().collect();
        let name = name.trim();
        if name.is_empty() {
            self.at = start;
            self.skip_spaces();
            return Err(self.error(match self.peek() {
                None => "a pool name is missing at the end",
                Some(')') => "a pool name is missing before ')'",
                Some(_) => "a pool name is missing",
            }));
        }
        Ok(PoolExpr::Name(name.to_string()))
    }
}

#[cfg(test)]
#[path = "poolexpr_tests.rs"]
mod tests;
