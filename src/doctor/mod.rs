//! `afpool doctor`: every check a pipeline TD wants on day one and after every change, each one
//! line (`ok`, `warn` or `fail`, the check's name, what was found, and for warn/fail the fix).
//!
//! Files, one per group of checks: [`afserver`] (reachable, version, round-trip time, users'
//! host-mask type), [`listen`] (the proxy port free or afpool's own), [`store`] (pool store,
//! job registry and audit log: file or MongoDB), [`pools`] (members afserver does not know,
//! empty pools, masks too large, overlaps; pure), [`cgru`] (where CGRU's config and
//! `CGRU_AF_SERVER*` point submitters), [`similar`] (close names, pure). [`run`] runs them all
//! and returns a [`Report`]; nothing here prints or exits.

pub mod afserver;
pub mod cgru;
pub mod listen;
pub mod pools;
pub mod rules;
pub mod similar;
pub mod store;

use serde::Serialize;

use crate::job::RouteSettings;
use crate::secret::SecretUri;
use crate::store::StoreOptions;
use crate::upstream::Upstream;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing to do (information only, when there is a detail).
    Ok,
    /// Works, but probably not as meant.
    Warn,
    /// Broken: jobs will not go where they should, or afpool cannot run.
    Fail,
}

impl Status {
    /// `ok`, `warn` or `fail`.
    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One check's outcome: one line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// How it came out.
    pub status: Status,
    /// What was checked, e.g. `afserver`, `store`, `pool gpu: members`.
    pub name: String,
    /// What was found.
    pub detail: String,
    /// What to do about it (warn and fail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    /// A passed check.
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            status: Status::Ok,
            name: name.into(),
            detail: detail.into(),
            fix: None,
        }
    }

    /// A warning with its fix.
    pub fn warn(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            status: Status::Warn,
            name: name.into(),
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// A failure with its fix.
    pub fn fail(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            status: Status::Fail,
            name: name.into(),
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// `STATUS NAME: DETAIL` and, for warn and fail, ` -> fix: FIX`.
    pub fn line(&self) -> String {
        let mut line = format!("{:<4} {}: {}", self.status.word(), self.name, self.detail);
        if let Some(fix) = &self.fix {
            line.push_str(" -> fix: ");
            line.push_str(fix);
        }
        line
    }
}

/// Every check, in the order run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// True when a check failed (the command then exits 1).
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Fail)
    }

    /// The first check named `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// One line per check, and a summary line.
    pub fn human(&self) -> String {
        let mut out: String = self.checks.iter().map(|c| c.line() + "\n").collect();
        let count = |s: Status| self.checks.iter().filter(|c| c.status == s).count();
        out.push_str(&format!(
            "{} ok, {} warn, {} fail\n",
            count(Status::Ok),
            count(Status::Warn),
            count(Status::Fail)
        ));
        out
    }

    /// One JSON object per check, one per line.
    pub fn json_lines(&self) -> String {
        self.checks
            .iter()
            .map(|c| serde_json::to_string(c).expect("a check always serializes") + "\n")
            .collect()
    }
}

/// What the checks look at.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// afserver, with the config's timeouts.
    pub upstream: Upstream,
    /// The address `afpool serve` listens on.
    pub listen: String,
    /// The pool store spec (`file:PATH` or a MongoDB URI).
    pub store: SecretUri,
    /// Database and collection of a MongoDB store.
    pub store_options: StoreOptions,
    /// Routing settings (`assume_mask_type`, `mask_mode`, `default_pool`).
    pub settings: RouteSettings,
    /// CGRU's environment in this shell.
    pub cgru: cgru::CgruEnv,
}

/// Runs every check.
pub async fn run(inputs: &Inputs) -> Report {
    let mut checks = Vec::new();
    let facts = afserver::ask(&inputs.upstream).await;
    checks.extend(afserver::checks(&facts, &inputs.upstream));
    checks.push(listen::check(&inputs.listen, &inputs.upstream).await);
    let stored = store::check(&inputs.store, &inputs.store_options).await;
    checks.extend(stored.checks);
    if let Some(pools) = &stored.pools {
        let renders = facts.renders.as_ref().ok().map(Vec::as_slice);
        // Selector pools are checked with their members as the proxy resolves them.
        let list = renders.unwrap_or_default();
        let resolved =
            crate::select::resolve::Resolver::new().resolve(pools, list, jiff::Timestamp::now());
        let stored_rules = match rules::read(&inputs.store, &inputs.store_options).await {
            Ok(read) => read,
            Err(e) => {
                let fix = "check the store (see the store line above)";
                checks.push(Check::warn(
                    "default rules",
                    format!("cannot read them: {e}"),
                    fix,
                ));
                None
            }
        };
        // Stored rules replace default_pool: its own check would judge a setting not in use.
        let mut settings = inputs.settings.clone();
        if stored_rules.is_some() {
            settings.default_pool = None;
        }
        checks.extend(pools::checks(&resolved, renders, &settings));
        checks.extend(rules::checks(
            pools,
            stored_rules.as_ref(),
            &inputs.settings,
        ));
    }
    checks.push(afserver::users_check(
        &facts,
        inputs.settings.assume_mask_type,
    ));
    checks.extend(cgru::checks(&inputs.cgru, &inputs.listen, &inputs.upstream.addr).await);
    Report { checks }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_status_name_detail_and_fix() {
        let report = Report {
            checks: vec![
                Check::ok("afserver", "3.4.1"),
                Check::warn(
                    "pool gpu: members",
                    "gpu.nod3 unknown",
                    "afpool pool remove gpu gpu.nod3",
                ),
            ],
        };
        let human = report.human();
        assert!(human.starts_with("ok   afserver: 3.4.1\nwarn pool gpu: members: gpu.nod3 unknown -> fix: afpool pool remove gpu gpu.nod3\n"), "{human}");
        assert!(human.ends_with("1 ok, 1 warn, 0 fail\n"));
        assert!(!report.failed());
        let lines: Vec<serde_json::Value> = report
            .json_lines()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines[0],
            serde_json::json!({"status":"ok","name":"afserver","detail":"3.4.1"})
        );
        assert_eq!(lines[1]["fix"], "afpool pool remove gpu gpu.nod3");
        let failed = Report {
            checks: vec![Check::fail("store", "x", "y")],
        };
        assert!(failed.failed());
    }
}
