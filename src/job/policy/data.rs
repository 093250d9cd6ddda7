//! [`PoolPolicy`]: what a pool declares about the jobs it takes, as stored in the pool document
//! (`"policy": {...}` beside `name`, only when set): who may submit (`allow` / `deny` lists of
//! user names, submitting host names, source networks and a CEL condition over the job), what
//! happens to a refused job (`on_refused`: `reject` or `hold`), which block services are allowed,
//! and defaults and maxima for the job's scheduling keys ([`LimitKey`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::cidr::Network;
use super::cond::Condition;

/// Who a list matches. Empty lists match nothing (deny) or are not checked (allow).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acl {
    /// Afanasy user names (`user_name`, as the job declares it), compared exactly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Submitting host names (`host_name`, as the job declares it), compared case-insensitively.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// Source networks of the client connection (`10.1.0.0/16`, `127.0.0.1`, `fd00::/8`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<String>,
    /// A CEL condition over the job (see [`super::cond`]).
    #[serde(rename = "if", default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

impl Acl {
    /// True when nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.hosts.is_empty()
            && self.networks.is_empty()
            && self.when.is_none()
    }
}

/// What happens to a job a pool's policy refuses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnRefused {
    /// An error reply naming the rule; nothing is forwarded (the default).
    #[default]
    Reject,
    /// Forwarded paused and fenced off every host, as for an unknown pool.
    Hold,
}

/// A scheduling key a pool gives a default and a maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKey {
    /// Job `priority` (afserver's 99 when absent).
    Priority,
    /// Job `max_running_tasks` (and any block's over the maximum); absent or negative is no limit.
    MaxRunningTasks,
    /// Job `max_running_tasks_per_host` (and any block's over the maximum).
    MaxRunningTasksPerHost,
    /// Every block's `capacity` (afserver's 1000 when absent).
    Capacity,
    /// Every block's `need_memory` in MB (0 when absent), and the job's when it sets one over
    /// the maximum.
    NeedMemory,
    /// Job `time_life` in seconds; absent or negative is for ever.
    TimeLife,
}

/// Where afserver reads a key, and what it means when absent.
pub(crate) struct KeyInfo {
    /// The JSON key.
    pub name: &'static str,
    /// Read from every block (else from the job; job-level keys are also clamped in blocks
    /// when `in_blocks_too`).
    pub block: bool,
    /// The job-level key also exists in blocks, where values over the maximum are clamped.
    pub in_blocks_too: bool,
    /// The block-level key also exists in the job (afserver checks the job's `need_memory`
    /// against a render before its blocks'), where a value over the maximum is clamped.
    pub in_job_too: bool,
    /// afserver's value when the key is absent (`None`: no limit, which every maximum lowers).
    pub absent: Option<i64>,
    /// A negative value means no limit.
    pub negative_unlimited: bool,
    /// The largest value afserver reads.
    pub top: i64,
}

impl LimitKey {
    /// Every key, in the order they are applied and shown.
    pub const ALL: [LimitKey; 6] = [
        LimitKey::Priority,
        LimitKey::MaxRunningTasks,
        LimitKey::MaxRunningTasksPerHost,
        LimitKey::Capacity,
        LimitKey::NeedMemory,
        LimitKey::TimeLife,
    ];

    pub(crate) fn info(self) -> KeyInfo {
        let int32 = i64::from(i32::MAX);
        let info = |name, block, in_blocks_too, absent, negative_unlimited, top| KeyInfo {
            name,
            block,
            in_blocks_too,
            in_job_too: name == "need_memory",
            absent,
            negative_unlimited,
            top,
        };
        match self {
            LimitKey::Priority => info("priority", false, false, Some(99), false, 250),
            LimitKey::MaxRunningTasks => info("max_running_tasks", false, true, None, true, int32),
            LimitKey::MaxRunningTasksPerHost => {
                info("max_running_tasks_per_host", false, true, None, true, int32)
            }
            LimitKey::Capacity => info("capacity", true, false, Some(1000), false, int32),
            LimitKey::NeedMemory => info("need_memory", true, false, Some(0), false, int32),
            LimitKey::TimeLife => info("time_life", false, false, None, true, int32),
        }
    }

    /// The JSON key (also the name in the store and the API).
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The key named `name`.
    pub fn from_name(name: &str) -> Option<LimitKey> {
        LimitKey::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// A default (written when the job does not set the key, the way afserver reads it) and a
/// maximum (a larger value, or no limit, is lowered to it; never refused).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    /// Written when the key is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<i64>,
    /// The largest value the pool lets through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
}

/// A pool's policy; all empty (the default) for a pool that takes every job as it comes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolPolicy {
    /// Every list set here must match the job (users, hosts, networks, condition).
    #[serde(default, skip_serializing_if = "Acl::is_empty")]
    pub allow: Acl,
    /// Any entry matching the job refuses it (checked before `allow`).
    #[serde(default, skip_serializing_if = "Acl::is_empty")]
    pub deny: Acl,
    /// What a refused job gets; `reject` when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_refused: Option<OnRefused>,
    /// Block services allowed (empty: any); a block of another service is refused like the ACL.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Defaults and maxima.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<LimitKey, Limit>,
    /// Written as the job's `depend_mask_global` when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depend_mask_global: Option<String>,
}

/// Why a policy cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A network that is no address or CIDR.
    #[error("invalid network '{0}': {1}")]
    Network(String, String),
    /// A condition that does not compile (the text says line and column).
    #[error("invalid condition: {0}")]
    Condition(String),
    /// A limit out of range, or a default over its maximum.
    #[error("invalid {0}: {1}")]
    Limit(&'static str, String),
    /// A blank name in a list, or a global depend mask afserver would not accept.
    #[error("invalid {0}: {1}")]
    Value(&'static str, String),
}

impl PoolPolicy {
    /// True when the pool declares nothing.
    pub fn is_empty(&self) -> bool {
        *self == PoolPolicy::default()
    }

    /// One line per setting, for `afpool pool show` and the audit log: `allow users: anna, ben`,
    /// `priority: default 50, max 150`, ...
    pub fn summary(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (side, acl) in [("allow", &self.allow), ("deny", &self.deny)] {
            for (what, list) in [
                ("users", &acl.users),
                ("hosts", &acl.hosts),
                ("networks", &acl.networks),
            ] {
                if !list.is_empty() {
                    out.push(format!("{side} {what}: {}", list.join(", ")));
                }
            }
            if let Some(c) = &acl.when {
                out.push(format!("{side} if: {c}"));
            }
        }
        if !self.services.is_empty() {
            out.push(format!("services: {}", self.services.join(", ")));
        }
        if let Some(on) = self.on_refused {
            let word = match on {
                OnRefused::Reject => "reject",
                OnRefused::Hold => "hold",
            };
            out.push(format!("refused jobs: {word}"));
        }
        for (key, limit) in &self.limits {
            let parts: Vec<String> = [("default", limit.default), ("max", limit.max)]
                .into_iter()
                .filter_map(|(w, v)| v.map(|v| format!("{w} {v}")))
                .collect();
            out.push(format!("{}: {}", key.name(), parts.join(", ")));
        }
        if let Some(m) = &self.depend_mask_global {
            out.push(format!("depend_mask_global: {m}"));
        }
        out
    }

    /// True when the policy checks who submits (an allow or deny list, allowed services), which
    /// only a submission can pass: a job moved in live was never checked against it.
    pub fn checks_submitters(&self) -> bool {
        !self.allow.is_empty() || !self.deny.is_empty() || !self.services.is_empty()
    }

    /// The verdict for refused jobs.
    pub fn on_refused(&self) -> OnRefused {
        self.on_refused.unwrap_or_default()
    }

    /// The policy as it will be stored: names trimmed and de-duplicated, networks and
    /// conditions checked, limits in range (a default never over its maximum), blanks dropped.
    pub fn validated(&self) -> Result<PoolPolicy, PolicyError> {
        let mut limits = BTreeMap::new();
        for (key, limit) in &self.limits {
            if let Some(limit) = checked_limit(*key, limit)? {
                limits.insert(*key, limit);
            }
        }
        let depend = match self.depend_mask_global.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(mask) => Some(checked_mask(mask)?),
        };
        Ok(PoolPolicy {
            allow: checked_acl(&self.allow)?,
            deny: checked_acl(&self.deny)?,
            on_refused: self.on_refused,
            services: names("services", &self.services, false)?,
            limits,
            depend_mask_global: depend,
        })
    }
}

fn checked_acl(acl: &Acl) -> Result<Acl, PolicyError> {
    let networks = names("networks", &acl.networks, false)?;
    for n in &networks {
        Network::parse(n).map_err(|why| PolicyError::Network(n.clone(), why))?;
    }
    let when = match acl.when.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => {
            Condition::compile(c).map_err(|e| PolicyError::Condition(e.to_string()))?;
            Some(c.to_string())
        }
    };
    Ok(Acl {
        users: names("users", &acl.users, false)?,
        hosts: names("hosts", &acl.hosts, true)?,
        networks,
        when,
    })
}

/// Trimmed, blank and repeated entries dropped (`fold`: compared case-insensitively); a name
/// afserver could never send (a control character) is refused.
fn names(what: &'static str, list: &[String], fold: bool) -> Result<Vec<String>, PolicyError> {
    let mut out: Vec<String> = Vec::new();
    for name in list.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        if name.chars().any(char::is_control) {
            return Err(PolicyError::Value(
                what,
                format!("{name:?} holds a control character"),
            ));
        }
        let seen = out.iter().any(|o| match fold {
            true => o.eq_ignore_ascii_case(name),
            false => o == name,
        });
        if !seen {
            out.push(name.to_string());
        }
    }
    Ok(out)
}

fn checked_limit(key: LimitKey, limit: &Limit) -> Result<Option<Limit>, PolicyError> {
    let info = key.info();
    let low = if info.negative_unlimited { -1 } else { 0 };
    for (what, v) in [("default", limit.default), ("max", limit.max)] {
        match v {
            Some(v) if v < low || v > info.top => {
                let why = format!("{what} {v} is outside {low}..={}", info.top);
                return Err(PolicyError::Limit(info.name, why));
            }
            _ => {}
        }
    }
    if let Some(max) = limit.max.filter(|m| *m < 0) {
        let why = format!("max {max} means no limit; clear it instead");
        return Err(PolicyError::Limit(info.name, why));
    }
    if let (Some(d), Some(m)) = (limit.default, limit.max) {
        if d > m || (d < 0 && info.negative_unlimited) {
            let why = format!("default {d} is over max {m}");
            return Err(PolicyError::Limit(info.name, why));
        }
    }
    Ok((limit.default.is_some() || limit.max.is_some()).then_some(*limit))
}

fn checked_mask(mask: &str) -> Result<String, PolicyError> {
    let refused = |why: String| PolicyError::Value("depend_mask_global", why);
    if mask.contains(['\\', '"']) || mask.chars().any(char::is_control) {
        return Err(refused(format!(
            "{mask:?}: afserver writes it back unescaped (no backslash, quote or control character)"
        )));
    }
    crate::job::ecma::check_bytes(mask.as_bytes())
        .map(|_| mask.to_string())
        .map_err(|e| refused(format!("{mask:?} is not a regex afserver accepts: {e}")))
}
