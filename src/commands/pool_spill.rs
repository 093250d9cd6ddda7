//! `afpool pool set NAME --fallback cpu,cloud --spill-below 2 --spill-after 30m` and
//! `--no-spill`: the flags, and the pool's spill-over settings they leave (settings not given
//! stay as they are). Validation is the store's ([`Spill::validated`]), the words
//! [`Spill::describe`]'s.

use clap::Args;

use crate::store::Spill;

/// Spill-over flags of `afpool pool set`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct SpillArgs {
    /// Pools its jobs may spill into, in order (comma separated; replaces the list). A fallback
    /// that is no pool yet is skipped until it exists.
    #[arg(
        long,
        value_name = "POOLS",
        value_delimiter = ',',
        conflicts_with = "no_spill"
    )]
    pub fallback: Vec<String>,
    /// At submission, spill when fewer than K members are online and not NIMBY.
    #[arg(long, value_name = "K", conflicts_with = "no_spill")]
    pub spill_below: Option<u32>,
    /// A queued job that started no task for this long (30m, 2h) gets the next fallback.
    #[arg(long, value_name = "DURATION", conflicts_with = "no_spill")]
    pub spill_after: Option<String>,
    /// Never spill: remove the fallback list and both triggers.
    #[arg(long)]
    pub no_spill: bool,
}

impl SpillArgs {
    /// The settings after these flags, from `current`; `None` when no spill flag was given.
    pub fn applied_to(&self, current: &Spill) -> Option<Spill> {
        if self.no_spill {
            return Some(Spill::default());
        }
        let given =
            !self.fallback.is_empty() || self.spill_below.is_some() || self.spill_after.is_some();
        given.then(|| Spill {
            fallback: match self.fallback.is_empty() {
                true => current.fallback.clone(),
                false => self.fallback.clone(),
            },
            spill_below: self.spill_below.or(current.spill_below),
            spill_after: self.spill_after.clone().or(current.spill_after.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current() -> Spill {
        Spill {
            fallback: vec!["cpu".into()],
            spill_below: Some(2),
            spill_after: None,
        }
    }

    #[test]
    fn flags_not_given_keep_their_settings() {
        assert_eq!(SpillArgs::default().applied_to(&current()), None);
        let after = SpillArgs {
            spill_after: Some("30m".into()),
            ..SpillArgs::default()
        };
        let got = after.applied_to(&current()).unwrap();
        assert_eq!(got.fallback, ["cpu"]);
        assert_eq!(
            (got.spill_below, got.spill_after.as_deref()),
            (Some(2), Some("30m"))
        );
        let fallback = SpillArgs {
            fallback: vec!["cloud".into(), "cpu".into()],
            ..SpillArgs::default()
        };
        assert_eq!(
            fallback.applied_to(&current()).unwrap().fallback,
            ["cloud", "cpu"]
        );
        let off = SpillArgs {
            no_spill: true,
            ..SpillArgs::default()
        };
        assert_eq!(off.applied_to(&current()), Some(Spill::default()));
    }
}
