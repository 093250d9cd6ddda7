//! Why a mask is refused: libstdc++ would refuse it (a syntax error, or more NFA states than
//! afserver's `std::regex` allows), or libstdc++ accepts it but afserver could overflow its stack
//! compiling or matching it, so afpool refuses it too.

use std::fmt;

/// A refused pattern. Displayed as one line an artist can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// libstdc++ refuses the pattern: `what` went wrong at byte offset `at`.
    Syntax {
        /// Byte offset of the token at fault.
        at: usize,
        /// What is wrong, in words.
        what: String,
    },
    /// libstdc++ refuses the pattern: its NFA would have this many states (more than 100,000).
    TooManyStates(u64),
    /// libstdc++ accepts the pattern, but afserver could crash on it; afpool refuses it.
    Unsafe(String),
}

impl Refusal {
    /// A syntax error at byte offset `at`.
    pub(crate) fn syntax(at: usize, what: &str) -> Refusal {
        Refusal::Syntax {
            at,
            what: what.to_string(),
        }
    }

    /// Whether libstdc++ itself accepts the pattern (afpool refuses it for afserver's safety).
    #[cfg(test)]
    pub(crate) fn is_unsafe(&self) -> bool {
        matches!(self, Refusal::Unsafe(_))
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Syntax { at, what } => write!(f, "{what} at {}", at + 1),
            Refusal::TooManyStates(n) => write!(
                f,
                "too many states: afserver's regex engine would need {n} NFA states (at most {})",
                super::STATE_LIMIT
            ),
            Refusal::Unsafe(what) => write!(f, "{what}"),
        }
    }
}
