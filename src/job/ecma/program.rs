//! The matcher's program: libstdc++'s NFA for the pattern, state for state, without the dummy
//! states (`_M_eliminate_dummy` routes around them) and without the orphaned operands of counted
//! repeats. Each state has a `next`; alternatives, repeats and look-aheads also have an `alt`,
//! which the executor tries first, exactly as in libstdc++: `a|b` tries `a`, a greedy repeat
//! tries one more iteration, a lazy one tries to leave. A counted repeat is unrolled into copies,
//! each optional copy behind its own repeat state; `X+` loops back into `X` itself.

use super::ast::{Ast, Node, NodeId};
use super::bytes::ByteSet;

/// An index into [`Program::states`].
pub(super) type StateId = u32;

/// What a state does.
#[derive(Clone, Copy, Debug)]
pub(super) enum Op {
    /// Consume this byte.
    Byte(u8),
    /// Consume a byte of this class.
    Class(u32),
    /// Consume any byte but `\n` and `\r`.
    Any,
    /// Try `alt`, then `next`.
    Alt(StateId),
    /// Iterate into `alt` (greedy: first) or leave by `next` (lazy: first); `slot` counts
    /// entries at one position (libstdc++ allows two, so empty iterations end).
    Repeat {
        /// The loop body.
        alt: StateId,
        /// Leave first.
        lazy: bool,
        /// Index of this repeat's entry counter.
        slot: u32,
    },
    /// Start of capture group n.
    Begin(u32),
    /// End of capture group n.
    End(u32),
    /// Consume what group n matched.
    Backref(u32),
    /// `^`
    LineBegin,
    /// `$`
    LineEnd,
    /// `\b`, or `\B` (`neg`).
    WordBound(bool),
    /// `(?=`, or `(?!` (`neg`): run `body` from here as a separate search.
    Lookahead {
        /// The look-ahead's first state; it ends in its own `Accept`.
        body: StateId,
        /// `(?!`
        neg: bool,
    },
    /// The match (or the look-ahead) succeeds here.
    Accept,
}

/// One state.
#[derive(Clone, Copy, Debug)]
pub(super) struct State {
    /// What it does.
    pub(super) op: Op,
    /// Where it goes on.
    pub(super) next: StateId,
}

/// A compiled pattern.
#[derive(Debug)]
pub(super) struct Program {
    /// The states.
    pub(super) states: Vec<State>,
    /// Where matching starts (group 0's begin).
    pub(super) start: StateId,
    /// Classes, per case mode.
    pub(super) classes: Vec<[ByteSet; 2]>,
    /// Capture groups, group 0 included.
    pub(super) groups: u32,
    /// Repeat states (entry counters).
    pub(super) slots: u32,
}

/// A `next` not yet known.
const PENDING: StateId = StateId::MAX;

impl Program {
    /// Compiles a parsed pattern.
    pub(super) fn new(ast: Ast) -> Program {
        let mut p = Program {
            states: Vec::new(),
            start: 0,
            classes: Vec::new(),
            groups: ast.groups,
            slots: 0,
        };
        let accept = p.push(Op::Accept, PENDING);
        let end = p.push(Op::End(0), accept);
        let body = p.emit(&ast, ast.root, end);
        p.start = p.push(Op::Begin(0), body);
        p.classes = ast.classes;
        p
    }

    fn push(&mut self, op: Op, next: StateId) -> StateId {
        self.states.push(State { op, next });
        (self.states.len() - 1) as StateId
    }

    fn repeat(&mut self, lazy: bool, next: StateId) -> StateId {
        let slot = self.slots;
        self.slots += 1;
        self.push(
            Op::Repeat {
                alt: PENDING,
                lazy,
                slot,
            },
            next,
        )
    }

    fn set_alt(&mut self, id: StateId, body: StateId) {
        if let Op::Repeat { alt, .. } = &mut self.states[id as usize].op {
            *alt = body;
        }
    }

    /// Emits `node` so that it continues at `next`; returns its first state.
    fn emit(&mut self, ast: &Ast, node: NodeId, next: StateId) -> StateId {
        match ast.nodes[node as usize] {
            Node::Empty => next,
            Node::Byte(b) => self.push(Op::Byte(b), next),
            Node::Any => self.push(Op::Any, next),
            Node::Class(c) => self.push(Op::Class(c), next),
            Node::Backref(n) => self.push(Op::Backref(n), next),
            Node::LineBegin => self.push(Op::LineBegin, next),
            Node::LineEnd => self.push(Op::LineEnd, next),
            Node::WordBound { neg } => self.push(Op::WordBound(neg), next),
            Node::Lookahead { neg, body } => {
                let accept = self.push(Op::Accept, PENDING);
                let body = self.emit(ast, body, accept);
                self.push(Op::Lookahead { body, neg }, next)
            }
            Node::Group { index: None, body } => self.emit(ast, body, next),
            Node::Group {
                index: Some(n),
                body,
            } => {
                let end = self.push(Op::End(n), next);
                let body = self.emit(ast, body, end);
                self.push(Op::Begin(n), body)
            }
            Node::Concat { first, len } => {
                let mut next = next;
                for kid in ast.children(first, len).iter().rev() {
                    next = self.emit(ast, *kid, next);
                }
                next
            }
            Node::Alt { first, len } => {
                let kids = ast.children(first, len);
                let mut entry = self.emit(ast, kids[0], next);
                for kid in &kids[1..] {
                    let right = self.emit(ast, *kid, next);
                    entry = self.push(Op::Alt(entry), right);
                }
                entry
            }
            Node::Repeat {
                body,
                min,
                max,
                lazy,
                plus,
            } => self.emit_repeat(ast, body, (min, max), lazy, plus, next),
        }
    }

    fn emit_repeat(
        &mut self,
        ast: &Ast,
        body: NodeId,
        (min, max): (u32, Option<u32>),
        lazy: bool,
        plus: bool,
        next: StateId,
    ) -> StateId {
        if plus {
            let r = self.repeat(lazy, next);
            let entry = self.emit(ast, body, r);
            self.set_alt(r, entry);
            return entry;
        }
        let mut cont = next;
        match max {
            None => {
                cont = self.repeat(lazy, next);
                let entry = self.emit(ast, body, cont);
                self.set_alt(cont, entry);
            }
            Some(max) => {
                for _ in min..max {
                    let entry = self.emit(ast, body, cont);
                    cont = self.repeat(lazy, next);
                    self.set_alt(cont, entry);
                }
            }
        }
        for _ in 0..min {
            cont = self.emit(ast, body, cont);
        }
        cont
    }
}
