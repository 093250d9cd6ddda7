//! Close names, pure: for a pool member afserver does not know, the render it probably means
//! (the short name of a fully qualified one, or the other way round; a name one or two
//! keystrokes away, case aside, but never one that differs only in its digits: that is another
//! machine).

/// Why `member` probably means a render, and which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suggestion {
    /// The member is fully qualified (or short) and afserver knows the render by this name.
    Qualified(String),
    /// A name a keystroke or two away.
    Typo(String),
}

impl Suggestion {
    /// The render name suggested.
    pub fn name(&self) -> &str {
        match self {
            Suggestion::Qualified(n) | Suggestion::Typo(n) => n,
        }
    }
}

/// The render in `renders` that `member` probably means, if one is close enough.
pub fn suggest(member: &str, renders: &[&str]) -> Option<Suggestion> {
    let lower = member.to_lowercase();
    let first = first_label(&lower);
    let qualified = renders.iter().find(|r| {
        let r = r.to_lowercase();
        r != lower && first_label(&r) == first && (r == first || lower == first)
    });
    if let Some(r) = qualified {
        return Some(Suggestion::Qualified(r.to_string()));
    }
    let budget = if lower.chars().count() < 5 { 1 } else { 2 };
    renders
        .iter()
        .map(|r| (distance(&lower, &r.to_lowercase()), *r))
        .filter(|(d, r)| *d <= budget && !other_number(&lower, &r.to_lowercase()))
        .min_by_key(|(d, r)| (*d, r.len()))
        .map(|(_, r)| Suggestion::Typo(r.to_string()))
}

/// `render07` and `render08` are two machines, not a typo: the names differ only in digits.
fn other_number(a: &str, b: &str) -> bool {
    let letters = |s: &str| {
        s.chars()
            .filter(|c| !c.is_ascii_digit())
            .collect::<String>()
    };
    letters(a) == letters(b)
}

fn first_label(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

/// Edit distance (insert, delete, substitute, swap two neighbours), in characters.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    rows[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rstest::rstest]
    #[case("kitten", "sitting", 3)]
    #[case("render01", "render01", 0)]
    #[case("render01", "rendre01", 1)]
    #[case("gpu.nod3", "gpu.node3", 1)]
    #[case("", "abc", 3)]
    fn distances(#[case] a: &str, #[case] b: &str, #[case] d: usize) {
        assert_eq!(distance(a, b), d);
        assert_eq!(distance(b, a), d);
    }

    #[rstest::rstest]
    #[case("gpu01.studio.lan", Some(Suggestion::Qualified("gpu01".into())))]
    #[case("node7", Some(Suggestion::Qualified("node7.farm.lan".into())))]
    #[case("gpu.nod3", Some(Suggestion::Typo("gpu.node3".into())))]
    #[case("RENDR01", Some(Suggestion::Typo("render01".into())))]
    #[case("render99", None)]
    #[case("zz", None)]
    fn suggestions(#[case] member: &str, #[case] expected: Option<Suggestion>) {
        let renders = [
            "gpu01",
            "gpu.node3",
            "render01",
            "node7.farm.lan",
            "render1",
        ];
        assert_eq!(suggest(member, &renders), expected);
    }
}
