//! Running a [`Program`] on a name the way libstdc++'s depth-first `_Executor`
//! (`bits/regex_executor.tcc`) does for `regex_match`, with its recursion turned into an explicit
//! stack of frames so that no pattern can overflow afpool's stack. Kept exactly:
//!
//! - paths are tried in libstdc++'s order and the search stops at the first path that reaches the
//!   accept state at the end of the name;
//! - a repeat state is entered at most twice at one position (`_M_rep_once_more`), which is how
//!   empty iterations end;
//! - captures are saved and restored around group boundaries, are not reset per iteration, and a
//!   back-reference to a group that has not matched fails;
//! - a look-ahead is a separate prefix search starting where it stands (so `^` matches and `\b`
//!   sees no previous character there), with its own repeat counters; when it matches, its
//!   captures are copied out and are not undone on backtracking.
//!
//! Each state visited costs one step; past [`STEP_BUDGET`] the match gives up ([`TooComplex`]).

use super::bytes;
use super::program::{Op, Program, StateId};

/// Steps one match may take (a state visit each): a few milliseconds.
pub(super) const STEP_BUDGET: u64 = 2_000_000;

/// The pattern needs more than [`STEP_BUDGET`] steps on this name (afserver's matcher would
/// backtrack as long, or longer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TooComplex;

/// One capture: where it started and ended, and whether it has matched.
#[derive(Clone, Copy, Debug, Default)]
struct Sub {
    first: usize,
    second: usize,
    matched: bool,
}

/// What to do when the work above it on the stack is done.
#[derive(Clone, Copy)]
enum Frame {
    Visit(StateId),
    SetCur(usize),
    RestoreFirst(u32, usize),
    RestoreSub(u32, Sub),
    RestoreRep(u32, (usize, u8)),
    DecRep(u32),
    /// A lazy repeat whose exit failed: now try one more iteration.
    OnceMore(StateId),
}

/// Whether `program` matches the whole of `text`, adding the steps it takes to `steps`: several
/// matches sharing one counter share one [`STEP_BUDGET`].
pub(super) fn full_match(
    program: &Program,
    text: &[u8],
    icase: bool,
    steps: &mut u64,
) -> Result<bool, TooComplex> {
    let subs = vec![Sub::default(); program.groups as usize];
    let mut run = Run::new(program, text, icase, 0, subs, true);
    run.search(program.start, steps)
}

/// One executor: the top-level match, or a look-ahead's prefix search.
struct Run<'a> {
    program: &'a Program,
    text: &'a [u8],
    icase: bool,
    begin: usize,
    cur: usize,
    exact: bool,
    subs: Vec<Sub>,
    /// The captures when the accept state was reached (for a look-ahead).
    solution: Option<Vec<Sub>>,
    reps: Vec<(usize, u8)>,
    stack: Vec<Frame>,
}

impl<'a> Run<'a> {
    fn new(
        p: &'a Program,
        text: &'a [u8],
        icase: bool,
        at: usize,
        subs: Vec<Sub>,
        exact: bool,
    ) -> Self {
        Run {
            program: p,
            text,
            icase,
            begin: at,
            cur: at,
            exact,
            subs,
            solution: None,
            reps: vec![(0, 0); p.slots as usize],
            stack: Vec::new(),
        }
    }

    /// Depth-first from `start` until the accept state succeeds or every path failed.
    fn search(&mut self, start: StateId, steps: &mut u64) -> Result<bool, TooComplex> {
        self.stack.push(Frame::Visit(start));
        while let Some(frame) = self.stack.pop() {
            match frame {
                Frame::Visit(id) => {
                    *steps += 1;
                    if *steps > STEP_BUDGET {
                        return Err(TooComplex);
                    }
                    if self.visit(id, steps)? {
                        return Ok(true);
                    }
                }
                Frame::SetCur(at) => self.cur = at,
                Frame::RestoreFirst(n, at) => self.subs[n as usize].first = at,
                Frame::RestoreSub(n, sub) => self.subs[n as usize] = sub,
                Frame::RestoreRep(slot, rep) => self.reps[slot as usize] = rep,
                Frame::DecRep(slot) => self.reps[slot as usize].1 -= 1,
                Frame::OnceMore(id) => self.once_more(id),
            }
        }
        Ok(false)
    }

    /// Handles one state; true when the match (or look-ahead) is found.
    fn visit(&mut self, id: StateId, steps: &mut u64) -> Result<bool, TooComplex> {
        let state = self.program.states[id as usize];
        let next = state.next;
        match state.op {
            Op::Byte(_) | Op::Class(_) | Op::Any => {
                if self.cur < self.text.len() && self.consumes(state.op, self.text[self.cur]) {
                    self.stack.push(Frame::SetCur(self.cur));
                    self.cur += 1;
                    self.stack.push(Frame::Visit(next));
                }
            }
            Op::Alt(alt) => {
                self.stack.push(Frame::Visit(next));
                self.stack.push(Frame::Visit(alt));
            }
            Op::Repeat { lazy: false, .. } => {
                self.stack.push(Frame::Visit(next));
                self.once_more(id);
            }
            Op::Repeat { lazy: true, .. } => {
                self.stack.push(Frame::OnceMore(id));
                self.stack.push(Frame::Visit(next));
            }
            Op::Begin(n) => self.begin(n, next),
            Op::End(n) => self.end(n, next),
            Op::Backref(n) => self.backref(n, next),
            Op::LineBegin => self.go_if(self.cur == self.begin, next),
            Op::LineEnd => self.go_if(self.cur == self.text.len(), next),
            Op::WordBound(neg) => self.go_if(self.word_boundary() != neg, next),
            Op::Lookahead { body, neg } => {
                let found = self.lookahead(body, steps)?;
                self.go_if(found != neg, next);
            }
            Op::Accept => {
                let found = !self.exact || self.cur == self.text.len();
                if found && !self.exact {
                    self.solution = Some(self.subs.clone());
                }
                return Ok(found);
            }
        }
        Ok(false)
    }

    /// `_M_handle_subexpr_begin`: the group starts here (undone on backtracking).
    fn begin(&mut self, n: u32, next: StateId) {
        let sub = &mut self.subs[n as usize];
        self.stack.push(Frame::RestoreFirst(n, sub.first));
        sub.first = self.cur;
        self.stack.push(Frame::Visit(next));
    }

    /// `_M_handle_subexpr_end`: the group ends here and has matched (undone on backtracking).
    fn end(&mut self, n: u32, next: StateId) {
        let sub = &mut self.subs[n as usize];
        self.stack.push(Frame::RestoreSub(n, *sub));
        (sub.second, sub.matched) = (self.cur, true);
        self.stack.push(Frame::Visit(next));
    }

    fn go_if(&mut self, ok: bool, next: StateId) {
        if ok {
            self.stack.push(Frame::Visit(next));
        }
    }

    fn consumes(&self, op: Op, b: u8) -> bool {
        match op {
            Op::Byte(c) if self.icase => bytes::lower(c) == bytes::lower(b),
            Op::Byte(c) => c == b,
            Op::Class(c) => self.program.classes[c as usize][usize::from(self.icase)].contains(b),
            _ => b != b'\n' && b != b'\r',
        }
    }

    /// `_M_rep_once_more`: iterate unless this repeat was entered twice here already.
    fn once_more(&mut self, id: StateId) {
        let Op::Repeat { alt, slot, .. } = self.program.states[id as usize].op else {
            return;
        };
        let (at, count) = self.reps[slot as usize];
        if count == 0 || at != self.cur {
            self.stack.push(Frame::RestoreRep(slot, (at, count)));
            self.reps[slot as usize] = (self.cur, 1);
        } else if count < 2 {
            self.reps[slot as usize].1 += 1;
            self.stack.push(Frame::DecRep(slot));
        } else {
            return;
        }
        self.stack.push(Frame::Visit(alt));
    }

    fn backref(&mut self, n: u32, next: StateId) {
        let sub = self.subs[n as usize];
        if !sub.matched || sub.first > sub.second {
            return;
        }
        let len = sub.second - sub.first;
        let Some(here) = self.text.get(self.cur..self.cur + len) else {
            return;
        };
        let there = &self.text[sub.first..sub.second];
        let same = if self.icase {
            here.eq_ignore_ascii_case(there)
        } else {
            here == there
        };
        if same {
            if len > 0 {
                self.stack.push(Frame::SetCur(self.cur));
                self.cur += len;
            }
            self.stack.push(Frame::Visit(next));
        }
    }

    fn word_boundary(&self) -> bool {
        let left = self.cur != self.begin && bytes::is_word(self.text[self.cur - 1]);
        let right = self.cur < self.text.len() && bytes::is_word(self.text[self.cur]);
        left != right
    }

    /// `_M_lookahead`: a prefix search from here; on success its captures are copied out.
    fn lookahead(&mut self, body: StateId, steps: &mut u64) -> Result<bool, TooComplex> {
        let subs = self.subs.clone();
        let mut sub = Run::new(self.program, self.text, self.icase, self.cur, subs, false);
        if !sub.search(body, steps)? {
            return Ok(false);
        }
        for (mine, theirs) in self.subs.iter_mut().zip(sub.solution.unwrap_or_default()) {
            if theirs.matched {
                *mine = theirs;
            }
        }
        Ok(true)
    }
}
