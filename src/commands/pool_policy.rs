//! The policy flags of `afpool pool set` ([`PolicyArgs`]): who may submit into the pool, what a
//! refused job gets, allowed services, defaults and maxima. A flag given replaces that setting;
//! settings not given stay as they are; `--clear WHAT` and `--no-policy` remove them.

use clap::Args;

use crate::job::policy::{LimitKey, OnRefused, PoolPolicy};

/// What `--clear` can remove besides a limit key.
const CLEARABLE: &[&str] = &[
    "allow-users",
    "deny-users",
    "allow-hosts",
    "deny-hosts",
    "allow-networks",
    "deny-networks",
    "allow-if",
    "deny-if",
    "services",
    "on-refused",
    "depend-mask-global",
];

/// Policy flags (see `afpool pool set --help`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct PolicyArgs {
    /// Only these Afanasy user names may submit (comma separated; replaces the list). User
    /// names are what the job says: self-declared, like host names.
    #[arg(
        long,
        value_name = "USERS",
        value_delimiter = ',',
        help_heading = "Policy"
    )]
    pub allow_users: Vec<String>,
    /// These user names may not submit.
    #[arg(
        long,
        value_name = "USERS",
        value_delimiter = ',',
        help_heading = "Policy"
    )]
    pub deny_users: Vec<String>,
    /// Only jobs whose host_name is one of these (case-insensitive).
    #[arg(
        long,
        value_name = "HOSTS",
        value_delimiter = ',',
        help_heading = "Policy"
    )]
    pub allow_hosts: Vec<String>,
    /// Jobs whose host_name is one of these are refused.
    #[arg(
        long,
        value_name = "HOSTS",
        value_delimiter = ',',
        help_heading = "Policy"
    )]
    pub deny_hosts: Vec<String>,
    /// Only clients connecting from these networks (CIDR or address: 10.1.0.0/16,127.0.0.1):
    /// the one thing a client cannot write into its own job.
    #[arg(
        long,
        value_name = "CIDRS",
        value_delimiter = ',',
        help_heading = "Policy"
    )]
    pub allow_networks: Vec<String>,
    /// Clients connecting from these networks are refused.
    #[arg(
        long,
        value_name = "CIDRS",
        value_delimiter = ',',
        help_heading = "Policy"
    )]
    pub deny_networks: Vec<String>,
    /// Only jobs for which this CEL condition is true, over `user_name`, `host_name`, `name`,
    /// `priority`, `services`, `blocks`, `custom_data`, `project`, `department`, `address`:
    /// e.g. 'project == "lighting" || user_name.startsWith("td-")'.
    #[arg(long, value_name = "CEL", help_heading = "Policy")]
    pub allow_if: Option<String>,
    /// Jobs for which this CEL condition is true are refused.
    #[arg(long, value_name = "CEL", help_heading = "Policy")]
    pub deny_if: Option<String>,
    /// Only blocks of these services (each block's `service`, generic when absent).
    #[arg(
        long,
        value_name = "SERVICES",
        value_delimiter = ',',
        help_heading = "Policy"
    )]
    pub services: Vec<String>,
    /// What a refused job gets: `reject` (an error reply naming the rule, nothing forwarded;
    /// the default) or `hold` (forwarded paused and kept off every host).
    #[arg(long, value_name = "VERDICT", value_parser = parse_verdict, help_heading = "Policy")]
    pub on_refused: Option<OnRefused>,
    /// Default job priority (written when the job sets none).
    #[arg(long, value_name = "N", help_heading = "Policy")]
    pub default_priority: Option<i64>,
    /// Highest job priority; a higher one is lowered to it (not refused).
    #[arg(long, value_name = "N", help_heading = "Policy")]
    pub max_priority: Option<i64>,
    /// A default for KEY: priority, max_running_tasks, max_running_tasks_per_host, capacity
    /// (every block), need_memory (every block, MB), time_life (seconds). Repeat for more.
    #[arg(long = "default", value_name = "KEY=N", value_parser = parse_limit, help_heading = "Policy")]
    pub defaults: Vec<(LimitKey, i64)>,
    /// A maximum for KEY (same keys); a larger value, or no limit, is lowered to it.
    #[arg(long = "max", value_name = "KEY=N", value_parser = parse_limit, help_heading = "Policy")]
    pub maxima: Vec<(LimitKey, i64)>,
    /// Written as the job's depend_mask_global when it has none (a regex).
    #[arg(long, value_name = "REGEX", help_heading = "Policy")]
    pub depend_mask_global: Option<String>,
    /// Remove one setting: allow-users, deny-users, allow-hosts, deny-hosts, allow-networks,
    /// deny-networks, allow-if, deny-if, services, on-refused, depend-mask-global, or a KEY's
    /// default and maximum. Repeat for more.
    #[arg(long, value_name = "WHAT", value_parser = parse_clear, help_heading = "Policy")]
    pub clear: Vec<String>,
    /// Remove the whole policy.
    #[arg(long, help_heading = "Policy")]
    pub no_policy: bool,
}

impl PolicyArgs {
    /// True when some policy flag was given.
    pub fn given(&self) -> bool {
        *self != PolicyArgs::default()
    }

    /// `current` with these flags applied (clears first, then the values given).
    pub fn applied_to(&self, current: PoolPolicy) -> PoolPolicy {
        let mut p = if self.no_policy {
            PoolPolicy::default()
        } else {
            current
        };
        for what in &self.clear {
            clear(&mut p, what);
        }
        let set = |list: &mut Vec<String>, given: &Vec<String>| {
            if !given.is_empty() {
                list.clone_from(given);
            }
        };
        set(&mut p.allow.users, &self.allow_users);
        set(&mut p.deny.users, &self.deny_users);
        set(&mut p.allow.hosts, &self.allow_hosts);
        set(&mut p.deny.hosts, &self.deny_hosts);
        set(&mut p.allow.networks, &self.allow_networks);
        set(&mut p.deny.networks, &self.deny_networks);
        set(&mut p.services, &self.services);
        if self.allow_if.is_some() {
            p.allow.when.clone_from(&self.allow_if);
        }
        if self.deny_if.is_some() {
            p.deny.when.clone_from(&self.deny_if);
        }
        if self.on_refused.is_some() {
            p.on_refused = self.on_refused;
        }
        if self.depend_mask_global.is_some() {
            p.depend_mask_global.clone_from(&self.depend_mask_global);
        }
        let priority = LimitKey::Priority;
        let defaults = self.default_priority.map(|v| (priority, v));
        for (key, v) in self.defaults.iter().copied().chain(defaults) {
            p.limits.entry(key).or_default().default = Some(v);
        }
        let maxima = self.max_priority.map(|v| (priority, v));
        for (key, v) in self.maxima.iter().copied().chain(maxima) {
            p.limits.entry(key).or_default().max = Some(v);
        }
        p
    }
}

fn clear(p: &mut PoolPolicy, what: &str) {
    match what {
        "allow-users" => p.allow.users.clear(),
        "deny-users" => p.deny.users.clear(),
        "allow-hosts" => p.allow.hosts.clear(),
        "deny-hosts" => p.deny.hosts.clear(),
        "allow-networks" => p.allow.networks.clear(),
        "deny-networks" => p.deny.networks.clear(),
        "allow-if" => p.allow.when = None,
        "deny-if" => p.deny.when = None,
        "services" => p.services.clear(),
        "on-refused" => p.on_refused = None,
        "depend-mask-global" => p.depend_mask_global = None,
        key => {
            if let Some(key) = LimitKey::from_name(&key.replace('-', "_")) {
                p.limits.remove(&key);
            }
        }
    }
}

fn parse_verdict(text: &str) -> Result<OnRefused, String> {
    match text {
        "reject" => Ok(OnRefused::Reject),
        "hold" => Ok(OnRefused::Hold),
        _ => Err("reject or hold".into()),
    }
}

fn key_names() -> String {
    let keys: Vec<&str> = LimitKey::ALL.iter().map(|k| k.name()).collect();
    keys.join(", ")
}

fn parse_limit(text: &str) -> Result<(LimitKey, i64), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("KEY=N, KEY one of {}", key_names()))?;
    let key = LimitKey::from_name(&key.trim().replace('-', "_"))
        .ok_or_else(|| format!("unknown key '{key}' (known: {})", key_names()))?;
    let value = value
        .trim()
        .parse::<i64>()
        .map_err(|_| format!("'{value}' is not an integer"))?;
    Ok((key, value))
}

fn parse_clear(text: &str) -> Result<String, String> {
    let is_key = LimitKey::from_name(&text.replace('-', "_")).is_some();
    match CLEARABLE.contains(&text) || is_key {
        true => Ok(text.to_string()),
        false => Err(format!(
            "one of {}, or a key: {}",
            CLEARABLE.join(", "),
            key_names()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_replace_clear_and_keep() {
        let current = PolicyArgs {
            allow_users: vec!["anna".into()],
            deny_hosts: vec!["ws9".into()],
            maxima: vec![(LimitKey::Capacity, 2000)],
            ..PolicyArgs::default()
        }
        .applied_to(PoolPolicy::default());
        let next = PolicyArgs {
            allow_users: vec!["ben".into(), "cleo".into()],
            max_priority: Some(150),
            defaults: vec![(LimitKey::Priority, 50)],
            clear: vec!["deny-hosts".into()],
            ..PolicyArgs::default()
        }
        .applied_to(current.clone());
        assert_eq!(next.allow.users, ["ben", "cleo"]);
        assert!(next.deny.hosts.is_empty());
        assert_eq!(next.limits[&LimitKey::Capacity].max, Some(2000));
        let prio = next.limits[&LimitKey::Priority];
        assert_eq!((prio.default, prio.max), (Some(50), Some(150)));
        let cleared = PolicyArgs {
            clear: vec!["capacity".into()],
            ..PolicyArgs::default()
        }
        .applied_to(next);
        assert!(!cleared.limits.contains_key(&LimitKey::Capacity));
        let none = PolicyArgs {
            no_policy: true,
            ..PolicyArgs::default()
        };
        assert!(none.given() && none.applied_to(current).is_empty());
    }

    #[test]
    fn values_are_read_with_reasons() {
        assert_eq!(
            parse_limit("need-memory=4096"),
            Ok((LimitKey::NeedMemory, 4096))
        );
        assert!(parse_limit("ram=4")
            .unwrap_err()
            .contains("unknown key 'ram'"));
        assert!(parse_limit("priority").unwrap_err().contains("KEY=N"));
        assert!(parse_limit("priority=x")
            .unwrap_err()
            .contains("not an integer"));
        assert!(parse_clear("allow-usrs").is_err());
        assert_eq!(parse_clear("time_life"), Ok("time_life".into()));
        assert_eq!(parse_verdict("hold"), Ok(OnRefused::Hold));
    }
}
