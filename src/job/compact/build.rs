//! The regex of a minimal automaton ([`super::dawg`]), written small. From a state, the pieces
//! along its post-dominators are written in a row, each once: the tail every name of a branch
//! shares (a domain, a `-gpu` suffix) follows the alternation instead of closing each of its
//! alternatives. Within one step, transitions to the same state share a class; alternatives whose
//! ways meet again before the step ends are grouped in front of what they share, when that saves
//! states; and two-character alternatives are covered by as few `[..][..]` pairs as
//! [`super::stars`] finds.

use std::collections::HashMap;
use std::rc::Rc;

use super::dawg::{Atom, Dawg};
use super::expr::Re;
use super::stars;

/// One alternative in the making: its first characters and the state they lead to.
type Branch = (Rc<Vec<Atom>>, usize);

/// Writes the regex of a [`Dawg`], memoising each state's step.
pub(super) struct Builder<'a> {
    dawg: &'a Dawg,
    step: Vec<Option<Rc<Re>>>,
    tail: Vec<Option<u64>>,
}

impl<'a> Builder<'a> {
    pub(super) fn new(dawg: &'a Dawg) -> Self {
        let n = dawg.states.len();
        Builder {
            dawg,
            step: vec![None; n],
            tail: vec![None; n],
        }
    }

    /// The regex of every name the automaton holds.
    pub(super) fn regex(&mut self) -> Re {
        let pieces = self.expr(self.dawg.root, self.dawg.sink());
        Re::Seq(pieces).flattened()
    }

    /// The pieces that take `q` to `end`, a post-dominator of `q`.
    fn expr(&mut self, q: usize, end: usize) -> Vec<Rc<Re>> {
        let chain: Vec<usize> = self.dawg.chain(q, end).collect();
        chain.into_iter().map(|s| self.step(s)).collect()
    }

    /// Whether the way from `t` to `end` is one class: `Some(class)`.
    fn single_set(&mut self, t: usize, end: usize) -> Option<Rc<Vec<Atom>>> {
        if self.dawg.ipdom[t] != end {
            return None;
        }
        match &*self.step(t) {
            Re::Set(atoms) => Some(atoms.clone()),
            _ => None,
        }
    }

    /// States of the pieces from `q` to `end`.
    fn between(&mut self, q: usize, end: usize) -> u64 {
        self.tail_states(q) - self.tail_states(end)
    }

    fn tail_states(&mut self, q: usize) -> u64 {
        let chain: Vec<usize> = self.dawg.chain(q, self.dawg.sink()).collect();
        let mut sum = 0;
        for s in chain.into_iter().rev() {
            sum += match self.tail[s] {
                Some(known) => known - sum,
                None => self.step(s).piece_states(),
            };
            self.tail[s] = Some(sum);
        }
        sum
    }

    /// The piece that takes `q` to its immediate post-dominator.
    fn step(&mut self, q: usize) -> Rc<Re> {
        if let Some(known) = &self.step[q] {
            return known.clone();
        }
        let state = &self.dawg.states[q];
        let (end_here, end) = (state.end, self.dawg.ipdom[q]);
        let mut branches: Vec<(Vec<Atom>, usize)> = Vec::new();
        for &(atom, t) in &state.edges {
            let same = branches
                .iter_mut()
                .find(|(atoms, to)| *to == t && atom != Atom::Any && atoms[0] != Atom::Any);
            match same {
                Some((atoms, _)) => atoms.push(atom),
                None => branches.push((vec![atom], t)),
            }
        }
        let re = if branches.is_empty() {
            Rc::new(Re::Seq(Vec::new()))
        } else {
            let branches = branches.into_iter().map(|(a, t)| (Rc::new(a), t)).collect();
            let body = self.factor(branches, end);
            if end_here {
                Rc::new(Re::Opt(body))
            } else {
                body
            }
        };
        self.step[q] = Some(re.clone());
        re
    }

    /// The alternatives `branches`, each followed by its way to `end`, as one piece.
    fn factor(&mut self, branches: Vec<Branch>, end: usize) -> Rc<Re> {
        let mut out: Vec<(Atom, Rc<Re>)> = Vec::new();
        let mut rest = branches;
        while let Some(meet) = self.best_meeting(&rest, end) {
            let (members, others): (Vec<Branch>, Vec<Branch>) = rest
                .into_iter()
                .partition(|(_, t)| self.dawg.chain(*t, end).any(|s| s == meet));
            let key = members
                .iter()
                .map(|(a, _)| a[0])
                .min()
                .expect("two or more");
            let mut pieces = vec![self.factor(members, meet)];
            pieces.extend(self.expr(meet, end));
            out.push((key, Rc::new(Re::Seq(pieces))));
            rest = others;
        }
        out.extend(self.cover(rest, end));
        out.sort_by_key(|(key, _)| *key);
        match out.len() {
            1 => out.pop().expect("one").1,
            _ => Rc::new(Re::Alt(out.into_iter().map(|(_, re)| re).collect())),
        }
    }

    /// The alternatives of `branches` (each followed by its way to `end`), keyed by first atom;
    /// those that are a class followed by a class are written as [`stars::pairs`].
    fn cover(&mut self, branches: Vec<Branch>, end: usize) -> Vec<(Atom, Rc<Re>)> {
        let mut out = Vec::new();
        let mut rows: Vec<stars::Row> = Vec::new();
        for (first, t) in branches {
            match self.single_set(t, end) {
                Some(second) if stars::plain(&first) && stars::plain(&second) => {
                    rows.push((first, second))
                }
                _ => {
                    let mut pieces = vec![Rc::new(Re::Set(first.clone()))];
                    pieces.extend(self.expr(t, end));
                    out.push((first[0], Rc::new(Re::Seq(pieces))));
                }
            }
        }
        out.extend(stars::pairs(rows));
        out
    }

    /// The state, short of `end`, that most saves states when the branches through it are
    /// grouped in front of it (their shared way from it written once): `(k - 1) * cost - 2`.
    fn best_meeting(&mut self, branches: &[Branch], end: usize) -> Option<usize> {
        if branches.len() < 2 {
            return None;
        }
        let mut count: HashMap<usize, usize> = HashMap::new();
        let mut order = Vec::new();
        for (_, t) in branches {
            for s in self.dawg.chain(*t, end) {
                let c = count.entry(s).or_insert(0);
                if *c == 0 {
                    order.push(s);
                }
                *c += 1;
            }
        }
        let mut best: Option<(u64, usize)> = None;
        for s in order {
            let k = count[&s] as u64;
            if k < 2 {
                continue;
            }
            let gain = (k - 1) * self.between(s, end);
            if gain > 2 && best.is_none_or(|(g, _)| gain > g) {
                best = Some((gain, s));
            }
        }
        best.map(|(_, s)| s)
    }
}
