//! The dry-run explanation (`afsubmit --dry-run`, `afpool explain`): the pool and how it was found,
//! its hosts, the known renders the job can and cannot run on, the masks before and after, the
//! verdict and the job as it would be sent. Computed by the proxy's own [`job::route`]; a job the
//! `reject` policy refuses is explained by routing it once more with that policy read as `hold`.
//! Below [`super::report`], which prints an explanation as one file's result.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::job::{
    self, Explanation, HostState, Inventory, Masks, Policy, PoolSource, Rejection, RouteSettings,
    Verdict,
};

/// What would happen to one job.
#[derive(Debug)]
pub struct Explained {
    /// The router's explanation.
    pub explanation: Explanation,
    /// Set when the `reject` policy would refuse the job (nothing would be sent).
    pub rejection: Option<Rejection>,
    /// The envelope as it would be sent (`None` when rejected).
    pub job: Option<Value>,
}

impl Explained {
    /// `routed`, `held`, `passed`, `no_pool` or `rejected`.
    pub fn verdict(&self) -> &'static str {
        match self.rejection {
            Some(_) => "rejected",
            None => verdict_word(self.explanation.verdict),
        }
    }

    fn reason(&self) -> String {
        match &self.rejection {
            Some(r) => r.to_string(),
            None => self.explanation.reason.clone(),
        }
    }
}

/// `routed`, `held`, `passed` or `no_pool`.
pub fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Routed => "routed",
        Verdict::Held => "held",
        Verdict::Passed => "passed",
        Verdict::NoPool => "no_pool",
    }
}

/// Route `body` without sending it, as if it came from `from` (`None`: no client address, so a
/// pool's network rules are not checked). A shield rejection is an error (there is nothing to
/// explain).
pub fn explain(
    body: &[u8],
    settings: &RouteSettings,
    inventory: &Inventory,
    from: Option<std::net::IpAddr>,
) -> Result<Explained, Rejection> {
    let submitted = job::Admission::Submitted(from);
    let (outcome, rejection) = match job::route_as(body, settings, inventory, submitted) {
        Ok(outcome) => (outcome, None),
        Err(rejection @ Rejection::Policy { .. }) => (
            job::route_as(
                body,
                &as_hold(settings),
                inventory,
                job::Admission::Explained(from),
            )?,
            Some(rejection),
        ),
        Err(shield) => return Err(shield),
    };
    let job = match rejection {
        Some(_) => None,
        None => serde_json::from_slice(outcome.body.as_deref().unwrap_or(body)).ok(),
    };
    Ok(Explained {
        explanation: outcome.explain,
        rejection,
        job,
    })
}

/// The same settings with every `reject` policy read as `hold`.
fn as_hold(settings: &RouteSettings) -> RouteSettings {
    let hold = |p: Policy| if p == Policy::Reject { Policy::Hold } else { p };
    RouteSettings {
        on_unknown_pool: hold(settings.on_unknown_pool),
        on_empty_pool: hold(settings.on_empty_pool),
        ..settings.clone()
    }
}

/// The `--json` line: the submission fields plus `explain` and `job`.
pub fn json_line(file: &str, e: &Explained) -> String {
    let line = json!({
        "file": file,
        "ok": e.rejection.is_none(),
        "dry_run": true,
        "pool": e.explanation.pool.as_ref().map(|p| &p.name),
        "verdict": e.verdict(),
        "error": e.rejection.as_ref().map(|r| r.to_string()),
        "explain": e.explanation,
        "job": e.job,
    });
    line.to_string()
}

/// The human explanation, several lines.
pub fn human(file: &str, e: &Explained) -> String {
    let x = &e.explanation;
    let mut out = format!("{file}:\n");
    let mut row = |label: &str, value: String| {
        let _ = writeln!(out, "  {:<16}{value}", format!("{label}:"));
    };
    row("job", format!("'{}' of user '{}'", x.job_name, x.user_name));
    row("pool", pool_text(x));
    if let Some(rule) = &x.rule {
        row("default rule", rule.words());
    }
    row("pool hosts", list_or(&x.pool_hosts.0, "none"));
    row("can run on", hosts_text(&x.can_run.0));
    row("cannot run on", hosts_text(&x.cannot_run.to_vec()));
    row("masks before", masks_text(&x.masks_before));
    row("masks after", masks_text(&x.masks_after));
    row("hosts excluded", x.hosts_excluded.to_string());
    for d in &x.policy {
        row("policy", d.to_string());
    }
    row("verdict", format!("{}: {}", e.verdict(), e.reason()));
    match &e.job {
        Some(job) => {
            let pretty = serde_json::to_string_pretty(job).expect("a JSON value always serializes");
            let _ = writeln!(
                out,
                "  job as it would be sent:\n{}",
                indent(&pretty, "    ")
            );
        }
        None => out.push_str("  nothing would be sent\n"),
    }
    out.push('\n');
    out
}

fn pool_text(x: &Explanation) -> String {
    let Some(p) = &x.pool else {
        return "none named".into();
    };
    let from = match p.source {
        PoolSource::JobKey => "the job's \"pool\" key",
        PoolSource::CustomData => "\"pool\" in custom_data",
        PoolSource::HostsMaskToken => "a pool: token in hosts_mask",
        PoolSource::HostsMaskExcludeToken => "a pool: token in hosts_mask_exclude",
        PoolSource::RoutedMark => "the afpool_routed mark of an earlier pass",
        PoolSource::DefaultRule => "a default pool rule",
        PoolSource::Default => "the default pool",
    };
    format!("'{}' (from {from})", p.name)
}

fn list_or(names: &[String], empty: &str) -> String {
    if names.is_empty() {
        empty.to_string()
    } else {
        names.join(", ")
    }
}

fn hosts_text(hosts: &[HostState]) -> String {
    let names: Vec<String> = hosts
        .iter()
        .map(|h| {
            format!(
                "{} ({})",
                h.name,
                if h.online { "online" } else { "offline" }
            )
        })
        .collect();
    list_or(&names, "none known")
}

fn masks_text(m: &Masks) -> String {
    let mut parts = Vec::new();
    let mut push = |label: String, v: &Option<String>| {
        if let Some(v) = v {
            parts.push(format!("{label}={v:?}"));
        }
    };
    push("hosts_mask".into(), &m.hosts_mask);
    push("hosts_mask_exclude".into(), &m.hosts_mask_exclude);
    push("hosts_mask_type".into(), &m.hosts_mask_type);
    for b in &m.blocks {
        push(format!("block {} hosts_mask", b.index), &b.hosts_mask);
        push(
            format!("block {} hosts_mask_exclude", b.index),
            &b.hosts_mask_exclude,
        );
    }
    list_or(&parts, "none")
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| format!("{prefix}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reject_is_read_as_hold_and_nothing_else_changes() {
        let settings = RouteSettings {
            on_unknown_pool: Policy::Reject,
            on_empty_pool: Policy::Pass,
            default_pool: Some("gpu".into()),
            ..RouteSettings::default()
        };
        let held = as_hold(&settings);
        assert_eq!(
            (held.on_unknown_pool, held.on_empty_pool),
            (Policy::Hold, Policy::Pass)
        );
        assert_eq!(held.default_pool, settings.default_pool);
    }

    #[test]
    fn network_rules_are_checked_only_with_a_client_address() {
        let mut lighting = crate::store::Pool::new("lighting", ["render01"]);
        let policy = serde_json::json!({"allow": {"networks": ["10.1.0.0/16"]}});
        lighting.policy = serde_json::from_value(policy).unwrap();
        let renders = vec![crate::renders::RenderInfo::named("render01")];
        let inv = Inventory::new(vec![lighting], renders);
        let settings = RouteSettings::default();
        let body = br#"{"job":{"pool":"lighting","name":"j","user_name":"u","blocks":[{"tasks":[{"name":"t","command":"c"}]}]}}"#;
        let said = |from: Option<&str>| {
            let from = from.map(|a| a.parse().unwrap());
            let e = explain(body, &settings, &inv, from).expect("explained");
            let lines: Vec<String> = e.explanation.policy.iter().map(|d| d.to_string()).collect();
            (e.verdict(), lines.join("; "))
        };
        let (verdict, lines) = said(None);
        assert_eq!(verdict, "routed");
        assert!(lines.contains("not checked"), "{lines}");
        let (verdict, lines) = said(Some("10.1.2.3"));
        assert!(
            verdict == "routed" && !lines.contains("not checked"),
            "{lines}"
        );
        let (verdict, lines) = said(Some("10.2.0.7"));
        assert_eq!(verdict, "rejected", "{lines}");
        assert!(lines.contains("10.2.0.7"), "{lines}");
    }

    #[test]
    fn an_unknown_pool_under_reject_is_explained_not_sent() {
        let inv = Inventory::new(vec![], vec![crate::renders::RenderInfo::named("render01")]);
        let settings = RouteSettings {
            on_unknown_pool: Policy::Reject,
            ..RouteSettings::default()
        };
        let body = br#"{"job":{"pool":"x","name":"j","user_name":"u","blocks":[{"tasks":[{"name":"t","command":"c"}]}]}}"#;
        let e = explain(body, &settings, &inv, None).expect("explained");
        assert_eq!(e.verdict(), "rejected");
        assert!(e.job.is_none());
        assert!(human("f.json", &e).contains("nothing would be sent"));
    }
}
