//! Two-character alternatives covered by few `[..][..]` pairs. Where each alternative of a step
//! is a class followed by a class (`0[49]`, `[15]b`, `73`: the last characters of random names),
//! the pairs they stand for form a bipartite graph of first and second characters. Writing a row
//! (`0[49]`) or a column (`[15]b`) covers its pairs; the fewest rows and columns that cover every
//! pair are a minimum vertex cover, found from a maximum matching (König). Every alternative
//! costs the same five states, so fewer alternatives is a smaller automaton; the rows as they
//! are stay when the cover is no smaller. Pure over the rows; [`super::build`] picks them out.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::dawg::Atom;
use super::expr::Re;

/// A first character set and the one set that follows it.
pub(super) type Row = (Rc<Vec<Atom>>, Rc<Vec<Atom>>);

/// The rows as alternatives keyed by first atom: as few `[..][..]` pairs as cover them.
pub(super) fn pairs(rows: Vec<Row>) -> impl Iterator<Item = (Atom, Rc<Re>)> {
    let pairs = match stars(&rows) {
        Some(fewer) => fewer,
        None => rows,
    };
    pairs.into_iter().map(|(first, second)| {
        let key = first[0];
        let pieces = vec![Rc::new(Re::Set(first)), Rc::new(Re::Set(second))];
        (key, Rc::new(Re::Seq(pieces)))
    })
}

/// A class that can stand in a row: no `.`.
pub(super) fn plain(set: &[Atom]) -> bool {
    !set.contains(&Atom::Any)
}

type Pair = (Rc<Vec<Atom>>, Rc<Vec<Atom>>);

/// A cover of the rows' pairs by fewer rows and columns, if there is one.
fn stars(rows: &[Pair]) -> Option<Vec<Pair>> {
    if rows.len() < 3 {
        return None;
    }
    let cols: Vec<Atom> = {
        let mut all: Vec<Atom> = rows.iter().flat_map(|(_, s)| s.iter().copied()).collect();
        all.sort_unstable();
        all.dedup();
        all
    };
    let col = |a: &Atom| cols.binary_search(a).expect("listed");
    let adj: Vec<Vec<usize>> = rows
        .iter()
        .map(|(_, s)| s.iter().map(col).collect())
        .collect();
    let (row_chosen, col_chosen) = vertex_cover(&adj, cols.len());
    let mut out: Vec<Pair> = Vec::new();
    let mut by_union: BTreeMap<Vec<Atom>, Vec<Atom>> = BTreeMap::new();
    for (j, &c) in cols.iter().enumerate().filter(|(j, _)| col_chosen[*j]) {
        let mut union: Vec<Atom> = (0..rows.len())
            .filter(|&i| !row_chosen[i] && adj[i].contains(&j))
            .flat_map(|i| rows[i].0.iter().copied())
            .collect();
        union.sort_unstable();
        if !union.is_empty() {
            by_union.entry(union).or_default().push(c);
        }
    }
    let n = row_chosen.iter().filter(|c| **c).count() + by_union.len();
    if n >= rows.len() {
        return None;
    }
    out.extend(
        (0..rows.len())
            .filter(|&i| row_chosen[i])
            .map(|i| rows[i].clone()),
    );
    out.extend(
        by_union
            .into_iter()
            .map(|(first, second)| (Rc::new(first), Rc::new(second))),
    );
    Some(out)
}

/// A minimum vertex cover of the bipartite graph `adj` (rows to columns), as chosen rows and
/// chosen columns: König's construction from a maximum matching (Kuhn's augmenting paths).
fn vertex_cover(adj: &[Vec<usize>], cols: usize) -> (Vec<bool>, Vec<bool>) {
    let mut match_col: Vec<Option<usize>> = vec![None; cols];
    let mut match_row: Vec<Option<usize>> = vec![None; adj.len()];
    for r in 0..adj.len() {
        let mut seen = vec![false; cols];
        augment(r, adj, &mut seen, &mut match_col, &mut match_row);
    }
    // Rows and columns reachable from unmatched rows by alternating paths.
    let mut row_seen = vec![false; adj.len()];
    let mut col_seen = vec![false; cols];
    let mut stack: Vec<usize> = (0..adj.len()).filter(|&r| match_row[r].is_none()).collect();
    stack.iter().for_each(|&r| row_seen[r] = true);
    while let Some(r) = stack.pop() {
        for &c in &adj[r] {
            if !col_seen[c] {
                col_seen[c] = true;
                if let Some(r2) = match_col[c] {
                    if !row_seen[r2] {
                        row_seen[r2] = true;
                        stack.push(r2);
                    }
                }
            }
        }
    }
    (row_seen.iter().map(|s| !s).collect(), col_seen)
}

fn augment(
    r: usize,
    adj: &[Vec<usize>],
    seen: &mut [bool],
    match_col: &mut [Option<usize>],
    match_row: &mut [Option<usize>],
) -> bool {
    for &c in &adj[r] {
        if seen[c] {
            continue;
        }
        seen[c] = true;
        let free = match match_col[c] {
            None => true,
            Some(r2) => augment(r2, adj, seen, match_col, match_row),
        };
        if free {
            match_col[c] = Some(r);
            match_row[r] = Some(c);
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(a: &str, b: &str) -> Pair {
        let atoms = |s: &str| Rc::new(s.chars().map(Atom::Lit).collect::<Vec<_>>());
        (atoms(a), atoms(b))
    }

    fn covered(pairs: &[Pair]) -> Vec<(Atom, Atom)> {
        let mut all: Vec<(Atom, Atom)> = pairs
            .iter()
            .flat_map(|(a, b)| a.iter().flat_map(|x| b.iter().map(move |y| (*x, *y))))
            .collect();
        all.sort();
        all.dedup();
        all
    }

    #[test]
    fn a_column_shared_by_two_rows_saves_an_alternative() {
        // 0[49] | 1b | 5b | 73  →  0[49] | [15]b | 73
        let rows = [
            pair("0", "49"),
            pair("1", "b"),
            pair("5", "b"),
            pair("7", "3"),
        ];
        let fewer = stars(&rows).expect("smaller");
        assert_eq!(fewer.len(), 3, "{fewer:?}");
        assert_eq!(covered(&fewer), covered(&rows));
    }

    #[test]
    fn rows_that_share_nothing_stay() {
        let rows = [pair("0", "4"), pair("1", "5"), pair("2", "6")];
        assert!(stars(&rows).is_none());
    }

    #[test]
    fn random_pair_sets_are_covered_exactly() {
        let mut rng = fastrand::Rng::with_seed(7);
        let hex: Vec<char> = "0123456789abcdef".chars().collect();
        for _ in 0..500 {
            let mut rows: BTreeMap<char, Vec<Atom>> = BTreeMap::new();
            for _ in 0..rng.usize(3..40) {
                let (a, b) = (hex[rng.usize(..16)], hex[rng.usize(..16)]);
                rows.entry(a).or_default().push(Atom::Lit(b));
            }
            let rows: Vec<Pair> = rows
                .into_iter()
                .map(|(a, mut b)| {
                    b.sort();
                    b.dedup();
                    (Rc::new(vec![Atom::Lit(a)]), Rc::new(b))
                })
                .collect();
            if let Some(fewer) = stars(&rows) {
                assert!(fewer.len() < rows.len());
                assert_eq!(covered(&fewer), covered(&rows));
            }
        }
    }
}
