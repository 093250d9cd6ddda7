//! `afpool audit`: reads the audit log beside the pool store, as an aligned table or JSON lines.

use std::io::Write;

use clap::Args;

use crate::store::audit::{parse_duration, AuditEntry, AuditFilter, SharedAudit};

/// `afpool audit` flags.
#[derive(Debug, Clone, Args, PartialEq, Eq)]
#[command(after_long_help = "\
Examples:
  afpool audit --since 2h                  everything of the last two hours
  afpool audit --pool gpu --since 7d       what happened to pool gpu this week
  afpool audit --job 1234 --json | jq .    one job's history, for scripts

The log sits beside the pool store: audit.jsonl next to a file store's pools.json, or the
`audit` collection next to `pools` in MongoDB. Entries are never rewritten; they are kept
`audit_keep_days` days (config file, default 90).")]
pub struct AuditArgs {
    /// Only entries at most this old: a number and a unit, s, m, h, d or w (`30m`, `2h`, `7d`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub since: Option<std::time::Duration>,
    /// Only entries about this pool (a rename shows under its old and its new name).
    #[arg(long, value_name = "POOL")]
    pub pool: Option<String>,
    /// Only entries about this afserver job id.
    #[arg(long, value_name = "ID")]
    pub job: Option<i64>,
    /// Print one JSON object per line, for scripts: `{"at": RFC 3339 UTC, "who", "kind",
    /// "pool", "job_id"?, "before"?, "after"?, "detail"}`.
    #[arg(long)]
    pub json: bool,
}

/// Prints the entries of `audit` that `args` selects, oldest first.
pub async fn run(audit: SharedAudit, args: AuditArgs) -> anyhow::Result<()> {
    let filter = AuditFilter {
        since: args.since,
        pool: args.pool,
        job_id: args.job,
    };
    let entries = audit.read(&filter).await?;
    let text = if args.json {
        json_lines(&entries)
    } else {
        table(&entries)
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// One JSON object per line.
fn json_lines(entries: &[AuditEntry]) -> String {
    let line = |e: &AuditEntry| serde_json::to_string(e).expect("entries serialize") + "\n";
    entries.iter().map(line).collect()
}

/// `AT  WHO  KIND  POOL  JOB  DETAIL`, aligned; a note when there is nothing.
fn table(entries: &[AuditEntry]) -> String {
    if entries.is_empty() {
        return "no audit entries match\n".to_string();
    }
    let row = |e: &AuditEntry| {
        let at = e.at.try_to_rfc3339_string().unwrap_or_default();
        vec![
            at,
            e.who.clone(),
            e.kind.as_str().to_string(),
            if e.pool.is_empty() {
                "-".into()
            } else {
                e.pool.clone()
            },
            e.job_id.map_or("-".to_string(), |id| id.to_string()),
            e.detail.clone(),
        ]
    };
    let rows: Vec<Vec<String>> = entries.iter().map(row).collect();
    let headers = ["AT", "WHO", "KIND", "POOL", "JOB", "DETAIL"];
    crate::table::render(&headers, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::audit::AuditKind;

    fn entry(kind: AuditKind, pool: &str, job: Option<i64>) -> AuditEntry {
        let mut e = AuditEntry::now(kind, "ann", pool, "did it");
        e.at = bson::DateTime::parse_rfc3339_str("2026-11-30T05:00:00Z").unwrap();
        e.job_id = job;
        e
    }

    #[test]
    fn table_is_aligned() {
        let text = table(&[
            entry(AuditKind::PoolCreated, "gpu", None),
            entry(AuditKind::JobRouted, "", Some(42)),
        ]);
        let expected = "\
AT                    WHO  KIND          POOL  JOB  DETAIL
2026-11-30T05:00:00Z  ann  pool_created  gpu   -    did it
2026-11-30T05:00:00Z  ann  job_routed    -     42   did it
";
        assert_eq!(text, expected);
        assert_eq!(table(&[]), "no audit entries match\n");
    }

    #[test]
    fn json_lines_are_stable() {
        let text = json_lines(&[entry(AuditKind::HostsAdded, "gpu", Some(1))]);
        let value: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        let expected = serde_json::json!({"at": "2026-11-30T05:00:00Z", "who": "ann",
            "kind": "hosts_added", "pool": "gpu", "job_id": 1, "detail": "did it"});
        assert_eq!(value, expected);
    }
}
