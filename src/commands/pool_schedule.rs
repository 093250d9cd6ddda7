//! The scheduled-member flags of `afpool pool create|set` (`--during HOST=WINDOWS`, `--always
//! HOST`, `--no-during`, `--time-zone ZONE`, `--no-time-zone`) and how they change a pool's
//! [`Selection`]. Pure; the windows themselves are checked by the store when written.

use clap::Args;

use super::PoolCommand;
use crate::store::{Selection, StoreError};

/// When members are members.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct ScheduleArgs {
    /// Make HOST a member only during WINDOWS; `*` stands for every render the rule selects
    /// (a host's own windows win). WINDOWS: `[DAYS] [HH:MM-HH:MM]`, several separated by
    /// commas or given by repeating the flag: `ws-01='Mon-Fri 19:00-07:00'` (weeknights, into
    /// the next morning), `'*=Sat,Sun'` (whole weekend days), `ws-02=08:00-18:00` (every day),
    /// `ws-03='Mon-Fri 19:00-07:00, Sat,Sun'`. Replaces HOST's windows; others stay.
    #[arg(long, value_name = "HOST=WINDOWS", value_parser = parse_during)]
    pub during: Vec<(String, String)>,
    /// Remove HOST's windows (repeat for more; `*` for the selected renders'): a member at all
    /// times again.
    #[arg(long, value_name = "HOST")]
    pub always: Vec<String>,
    /// Remove every window of the pool.
    #[arg(long, conflicts_with_all = ["during", "always"])]
    pub no_during: bool,
    /// The IANA time zone windows are read in, e.g. `Europe/Berlin` (default: the zone of the
    /// server afpool runs on).
    #[arg(long, value_name = "ZONE", conflicts_with = "no_time_zone")]
    pub time_zone: Option<String>,
    /// Read windows in the server's zone again.
    #[arg(long)]
    pub no_time_zone: bool,
}

fn parse_during(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((host, windows)) if !host.trim().is_empty() => {
            Ok((host.trim().to_string(), windows.trim().to_string()))
        }
        _ => Err(format!(
            "'{arg}': expected HOST=WINDOWS, e.g. ws-01='Mon-Fri 19:00-07:00' or '*=Sat,Sun'"
        )),
    }
}

impl ScheduleArgs {
    /// True when no flag was given.
    pub fn is_empty(&self) -> bool {
        *self == ScheduleArgs::default()
    }

    /// `selection` with these flags applied (what is not named stays).
    pub fn apply(&self, mut selection: Selection) -> Selection {
        let during = &mut selection.during;
        if self.no_during {
            during.clear();
        }
        let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        for host in &self.always {
            during.retain(|key, _| !same(key, host));
        }
        let named: Vec<&String> = self.during.iter().map(|(host, _)| host).collect();
        during.retain(|key, _| !named.iter().any(|h| same(key, h)));
        for (host, windows) in &self.during {
            let key = during
                .keys()
                .find(|k| same(k, host))
                .cloned()
                .unwrap_or_else(|| host.clone());
            during.entry(key).or_default().push(windows.clone());
        }
        if self.no_time_zone {
            selection.time_zone = None;
        }
        if let Some(zone) = &self.time_zone {
            selection.time_zone = Some(zone.clone());
        }
        selection
    }
}

/// `create` with windows as two commands, a plain `create` then a `set` of the windows (two
/// audit entries); the windows are checked first, so a bad one creates nothing.
pub fn split_create(cmd: PoolCommand) -> Result<Vec<PoolCommand>, StoreError> {
    let PoolCommand::Create {
        name,
        hosts,
        schedule,
    } = cmd
    else {
        return Ok(vec![cmd]);
    };
    if schedule.is_empty() {
        let schedule = ScheduleArgs::default();
        return Ok(vec![PoolCommand::Create {
            name,
            hosts,
            schedule,
        }]);
    }
    schedule.apply(Selection::default()).validated()?;
    let set = PoolCommand::Set {
        name: name.clone(),
        select: None,
        no_select: false,
        except: Vec::new(),
        no_except: false,
        spill: Default::default(),
        schedule,
        policy: Default::default(),
    };
    let schedule = ScheduleArgs::default();
    Ok(vec![
        PoolCommand::Create {
            name,
            hosts,
            schedule,
        },
        set,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(flags: &[&str]) -> ScheduleArgs {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            schedule: ScheduleArgs,
        }
        let argv = std::iter::once("t").chain(flags.iter().copied());
        <Cli as clap::Parser>::try_parse_from(argv)
            .unwrap()
            .schedule
    }

    fn windows(selection: &Selection) -> Vec<(String, Vec<String>)> {
        selection.during.clone().into_iter().collect()
    }

    #[test]
    fn flags_change_the_windows_named() {
        let start = Selection::default();
        let set = args(&[
            "--during",
            "ws-01=Mon-Fri 19:00-07:00",
            "--during",
            "WS-01=Sat,Sun",
            "--during",
            "*=Sat,Sun",
            "--time-zone",
            "Europe/Berlin",
        ])
        .apply(start);
        let want = [
            ("*", vec!["Sat,Sun"]),
            ("ws-01", vec!["Mon-Fri 19:00-07:00", "Sat,Sun"]),
        ];
        let want: Vec<(String, Vec<String>)> = want
            .iter()
            .map(|(k, w)| (k.to_string(), w.iter().map(|s| s.to_string()).collect()))
            .collect();
        assert_eq!(windows(&set), want);
        assert_eq!(set.time_zone.as_deref(), Some("Europe/Berlin"));
        let replaced = args(&["--during", "ws-01=08:00-18:00"]).apply(set.clone());
        assert_eq!(
            replaced.during["ws-01"],
            ["08:00-18:00"],
            "a host's windows are replaced"
        );
        assert_eq!(replaced.during["*"], ["Sat,Sun"], "others stay");
        assert_eq!(replaced.time_zone, set.time_zone);
        let always = args(&["--always", "WS-01", "--no-time-zone"]).apply(set.clone());
        assert_eq!(windows(&always).len(), 1);
        assert_eq!(always.time_zone, None);
        assert!(args(&["--no-during"]).apply(set).during.is_empty());
        assert!(args(&[]).is_empty());
    }

    #[test]
    fn a_during_without_a_host_is_refused_with_an_example() {
        #[derive(clap::Parser, Debug)]
        struct Cli {
            #[command(flatten)]
            _schedule: ScheduleArgs,
        }
        for bad in ["Mon-Fri 19:00-07:00", "=Sat"] {
            let e = <Cli as clap::Parser>::try_parse_from(["t", "--during", bad]).unwrap_err();
            assert!(e.to_string().contains("expected HOST=WINDOWS"), "{e}");
        }
        let e = <Cli as clap::Parser>::try_parse_from(["t", "--no-during", "--always", "a"]);
        assert!(e.is_err(), "--no-during clears all: no --always beside it");
    }
}
