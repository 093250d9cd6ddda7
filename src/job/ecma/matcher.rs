//! [`Matcher`]: a checked pattern compiled once, then matched against many host names, as
//! afserver's `regex_match` would (the whole name, byte by byte).

use super::exec::{self, TooComplex};
use super::program::Program;

/// A regex mask ready to match host names as afserver does.
#[derive(Debug)]
pub(crate) struct Matcher {
    program: Program,
}

impl Matcher {
    /// Checks `pattern` (see [`super::check`]) and compiles it.
    pub(crate) fn new(pattern: &str) -> Result<Matcher, String> {
        Matcher::from_bytes(pattern.as_bytes()).map_err(|r| r.to_string())
    }

    /// [`Matcher::new`] on raw bytes.
    pub(crate) fn from_bytes(pattern: &[u8]) -> Result<Matcher, super::Refusal> {
        let (ast, _) = super::parse_checked(pattern)?;
        Ok(Matcher {
            program: Program::new(ast),
        })
    }

    /// Whether the whole `name` matches, case-sensitively (afserver 3.4). A name the pattern is
    /// too complex to decide on counts as not matching; see [`Matcher::try_match`].
    #[cfg(test)]
    pub(crate) fn is_match(&self, name: &str) -> bool {
        self.try_match(name.as_bytes(), false).unwrap_or(false)
    }

    /// Whether the whole `name` matches, ignoring ASCII case (afserver 3.3, afserver's pools).
    #[cfg(test)]
    pub(crate) fn is_match_icase(&self, name: &str) -> bool {
        self.try_match(name.as_bytes(), true).unwrap_or(false)
    }

    /// Whether the whole `name` matches; `Err` when deciding takes more than the step budget
    /// (libstdc++ would backtrack at least as long).
    #[cfg(test)]
    pub(crate) fn try_match(&self, name: &[u8], icase: bool) -> Result<bool, TooComplex> {
        self.try_match_counted(name, icase, &mut 0)
    }

    /// Whether the whole `name` matches, within one step budget shared by every match counted
    /// in `steps` (all the names and masks of one job: a job's masks cost the proxy a few
    /// milliseconds at most, however many hosts its pool has); `Err` past it (libstdc++ would
    /// backtrack at least as long).
    pub(crate) fn try_match_counted(
        &self,
        name: &[u8],
        icase: bool,
        steps: &mut u64,
    ) -> Result<bool, TooComplex> {
        exec::full_match(&self.program, name, icase, steps)
    }
}
