//! Natural order of pool and host names: runs of ASCII digits compare as numbers, so `pool2`
//! comes before `pool10` and `render9` before `render10`; everything else compares byte by byte,
//! as before. Names equal as numbers (`render01`, `render1`) fall back to byte order, so the
//! order is total and only equal strings compare equal. The web page sorts with the same rule
//! (`naturalCompare` in `web/app.js`).

use std::cmp::Ordering;

/// Compare two names in natural order.
pub fn cmp(a: &str, b: &str) -> Ordering {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < x.len() && j < y.len() {
        let order = if x[i].is_ascii_digit() && y[j].is_ascii_digit() {
            let (ei, ej) = (digits_end(x, i), digits_end(y, j));
            let order = numeric(&x[i..ei], &y[j..ej]);
            (i, j) = (ei, ej);
            order
        } else {
            let order = x[i].cmp(&y[j]);
            (i, j) = (i + 1, j + 1);
            order
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    (x.len() - i).cmp(&(y.len() - j)).then_with(|| x.cmp(y))
}

/// Sort names (or anything with a name) in natural order.
pub fn sort_by_name<T>(items: &mut [T], name: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| cmp(name(a), name(b)));
}

/// The names in natural order (the list itself keeps its stored order).
pub fn sorted(names: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = names.iter().map(String::as_str).collect();
    out.sort_by(|a, b| cmp(a, b));
    out
}

fn digits_end(s: &[u8], from: usize) -> usize {
    from + s[from..].iter().take_while(|c| c.is_ascii_digit()).count()
}

/// Two digit runs by value: without leading zeros, the longer is larger, else the digits decide.
fn numeric(a: &[u8], b: &[u8]) -> Ordering {
    let trim = |s: &[u8]| -> usize { s.iter().take_while(|c| **c == b'0').count() };
    let (a, b) = (&a[trim(a)..], &b[trim(b)..]);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    #[test]
    fn digit_runs_compare_as_numbers() {
        let cases = [
            ("pool2", "pool10", Less),
            ("render9", "render10", Less),
            ("render10", "render9", Greater),
            ("render010", "render9", Greater),
            ("render01", "render1", Less), // equal as numbers: byte order
            ("render1", "render1", Equal),
            ("a1b", "a10", Less),
            ("gpu", "gpu1", Less),
            ("gpu1", "gpu", Greater),
            ("gpu1a", "gpu1b", Less),
            ("Pool", "pool", Less), // letters compare as bytes, as before
            ("node2.studio", "node10.studio", Less),
            ("ws-12-3", "ws-12-10", Less),
            ("", "a", Less),
            ("99999999999999999999999", "100000000000000000000000", Less), // past u64
            ("é2", "é10", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(cmp(a, b), want, "{a} vs {b}");
            assert_eq!(cmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn a_list_sorts_naturally() {
        let mut names = vec![
            "pool10", "pool2", "pool1", "gpu", "pool02", "render9", "render10",
        ];
        sort_by_name(&mut names, |n| n);
        assert_eq!(
            names,
            ["gpu", "pool1", "pool02", "pool2", "pool10", "render9", "render10"]
        );
    }
}
