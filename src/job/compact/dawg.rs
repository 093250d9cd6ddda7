//! The smallest automaton of a set of host names (a minimal acyclic DFA: common prefixes *and*
//! common suffixes shared), and the post-dominators of its states. A state `p` post-dominates `q`
//! when every way from `q` to the end of a name passes through `p`; the language from `q` is then
//! the language from `q` to `p` followed by the language from `p`, which is how a shared tail
//! (`.farm.studio.local`, `-gpu`) is written once instead of once per name.

use std::collections::HashMap;

/// One character of a host name as a regex atom. `Any` stands for the characters that cannot be
/// written without a backslash (`[ ] ^ \`), which [`super::mask::escape_host`] writes as `.`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Atom {
    Lit(char),
    Any,
}

impl Atom {
    pub(super) fn of(c: char) -> Atom {
        match c {
            '[' | ']' | '^' | '\\' => Atom::Any,
            c => Atom::Lit(c),
        }
    }
}

/// A state: whether a name may end here, and its transitions (sorted by atom).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct State {
    pub(super) end: bool,
    pub(super) edges: Vec<(Atom, usize)>,
}

/// The minimal automaton. States are numbered children first, so every transition goes to a
/// smaller number; [`Dawg::sink`] is a virtual state after the end of every name.
#[derive(Debug)]
pub(super) struct Dawg {
    pub(super) states: Vec<State>,
    pub(super) root: usize,
    /// The immediate post-dominator of each state (the sink for a state where a name may end).
    pub(super) ipdom: Vec<usize>,
    depth: Vec<usize>,
}

impl Dawg {
    /// The automaton of `words` (sorted, distinct, not empty).
    pub(super) fn new(words: &[&[Atom]]) -> Dawg {
        let mut build = Build::default();
        let root = build.state(words, 0);
        let mut dawg = Dawg {
            ipdom: Vec::with_capacity(build.states.len()),
            depth: Vec::with_capacity(build.states.len()),
            states: build.states,
            root,
        };
        dawg.post_dominators();
        dawg
    }

    /// The virtual state every name ends in.
    pub(super) fn sink(&self) -> usize {
        self.states.len()
    }

    /// The post-dominators of `q`, nearest first, up to (not including) `end`, `q` itself first.
    pub(super) fn chain(&self, q: usize, end: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(Some(q), move |&s| self.ipdom.get(s).copied())
            .take_while(move |&s| s != end)
    }

    fn post_dominators(&mut self) {
        let sink = self.sink();
        for q in 0..self.states.len() {
            let mut targets = self.states[q].edges.iter().map(|&(_, t)| t);
            let first = if self.states[q].end {
                sink
            } else {
                targets
                    .next()
                    .expect("a state that is not an end has transitions")
            };
            let p = targets.fold(first, |a, b| self.meet(a, b));
            self.ipdom.push(p);
            self.depth.push(self.depth_of(p) + 1);
        }
    }

    fn depth_of(&self, s: usize) -> usize {
        self.depth.get(s).copied().unwrap_or(0)
    }

    /// The nearest common post-dominator of `a` and `b`.
    fn meet(&self, mut a: usize, mut b: usize) -> usize {
        while a != b {
            while self.depth_of(a) > self.depth_of(b) {
                a = self.ipdom[a];
            }
            while self.depth_of(b) > self.depth_of(a) {
                b = self.ipdom[b];
            }
            if a != b {
                a = self.ipdom[a];
                b = self.ipdom[b];
            }
        }
        a
    }
}

#[derive(Default)]
struct Build {
    states: Vec<State>,
    known: HashMap<State, usize>,
}

impl Build {
    /// The state after a shared prefix of length `depth` of `words` (sorted, distinct).
    fn state(&mut self, words: &[&[Atom]], depth: usize) -> usize {
        let end = words[0].len() == depth;
        let longer = if end { &words[1..] } else { words };
        let mut edges = Vec::new();
        let mut i = 0;
        while i < longer.len() {
            let atom = longer[i][depth];
            let n = longer[i..].partition_point(|w| w[depth] == atom);
            edges.push((atom, self.state(&longer[i..i + n], depth + 1)));
            i += n;
        }
        let state = State { end, edges };
        if let Some(&id) = self.known.get(&state) {
            return id;
        }
        let id = self.states.len();
        self.states.push(state.clone());
        self.known.insert(state, id);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atoms(s: &str) -> Vec<Atom> {
        s.chars().map(Atom::of).collect()
    }

    fn dawg(names: &[&str]) -> Dawg {
        let mut words: Vec<Vec<Atom>> = names.iter().map(|n| atoms(n)).collect();
        words.sort();
        let words: Vec<&[Atom]> = words.iter().map(Vec::as_slice).collect();
        Dawg::new(&words)
    }

    #[test]
    fn shared_suffixes_are_one_state() {
        // a1.x, b2.x: the states before ".x" are one, and it post-dominates the root.
        let d = dawg(&["a1.x", "b2.x"]);
        assert_eq!(d.states.len(), 6, "{d:?}"); // root, after a, after b, .x, x, end
        let chain: Vec<usize> = d.chain(d.root, d.sink()).collect();
        assert_eq!(chain.len(), 4, "root, '.x', 'x', end: {chain:?}");
    }

    #[test]
    fn a_name_that_ends_early_post_dominates_nothing() {
        let d = dawg(&["r1", "r10"]);
        let after_r1 = d.chain(d.root, d.sink()).nth(2).unwrap();
        assert!(d.states[after_r1].end);
        assert_eq!(d.ipdom[after_r1], d.sink());
    }
}
