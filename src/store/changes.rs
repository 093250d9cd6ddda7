//! Pool changes as one unit of work shared by `afpool pool` and the HTTP API: [`apply`] makes a
//! [`PoolChange`] in the store (same validation, same errors) and returns what it did as an
//! [`Applied`]: the human summary, the hosts it changed or skipped, and the audit entry to append.
//! [`record`] appends that entry; a change that cannot be audited still stands.

use serde_json::json;

use super::audit::{AuditEntry, AuditKind, AuditLog};
use super::{Pool, PoolPolicy, Selection, SharedStore, Spill, StoreError};

/// One change to the pools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolChange {
    /// Create `name` with `hosts`.
    Create {
        /// The new pool's name.
        name: String,
        /// Its first hosts.
        hosts: Vec<String>,
    },
    /// Rename `old` to `new`.
    Rename {
        /// Current name.
        old: String,
        /// New name.
        new: String,
    },
    /// Delete `name`.
    Delete {
        /// The pool.
        name: String,
    },
    /// Add `hosts` to `name`.
    Add {
        /// The pool.
        name: String,
        /// Hosts to add.
        hosts: Vec<String>,
    },
    /// Remove `hosts` from `name`.
    Remove {
        /// The pool.
        name: String,
        /// Hosts to remove.
        hosts: Vec<String>,
    },
    /// Set the select rule and except list of `name`.
    Select {
        /// The pool.
        name: String,
        /// The new settings.
        selection: Selection,
    },
    /// Set the fallback pools and spill triggers of `name`.
    Spill {
        /// The pool.
        name: String,
        /// The new settings.
        spill: Spill,
    },
    /// Set the policy of `name` (the whole policy: what is not in it is cleared).
    Policy {
        /// The pool.
        name: String,
        /// The new policy.
        policy: Box<PoolPolicy>,
    },
}

/// What a change did.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The pool after the change (`None` once deleted).
    pub pool: Option<Pool>,
    /// Hosts added or removed, as stored.
    pub changed: Vec<String>,
    /// Hosts asked for but skipped: already members (add) or not members (remove).
    pub skipped: Vec<String>,
    /// One human line ending in `\n`, e.g. `added 1 host to pool 'p': pc-2; now 2 hosts`.
    pub summary: String,
    /// The audit entry to append.
    pub entry: AuditEntry,
}

/// Makes `change` in `store` on behalf of `who`; nothing is audited yet (see [`record`]).
pub async fn apply(
    store: &SharedStore,
    change: PoolChange,
    who: &str,
) -> Result<Applied, StoreError> {
    match change {
        PoolChange::Create { name, hosts } => create(store, &name, &hosts, who).await,
        PoolChange::Rename { old, new } => rename(store, &old, &new, who).await,
        PoolChange::Delete { name } => delete(store, &name, who).await,
        PoolChange::Add { name, hosts } => {
            host_change(store, AuditKind::HostsAdded, &name, &hosts, who).await
        }
        PoolChange::Remove { name, hosts } => {
            host_change(store, AuditKind::HostsRemoved, &name, &hosts, who).await
        }
        PoolChange::Select { name, selection } => select(store, &name, &selection, who).await,
        PoolChange::Spill { name, spill } => set_spill(store, &name, &spill, who).await,
        PoolChange::Policy { name, policy } => set_policy(store, &name, &policy, who).await,
    }
}

impl Applied {
    /// A change of a whole pool (no host lists): its entry says `summary`, `before` and `after`.
    fn whole(pool: Option<Pool>, summary: String, entry: AuditEntry) -> Self {
        Applied {
            pool,
            changed: Vec::new(),
            skipped: Vec::new(),
            summary,
            entry,
        }
    }
}

async fn create(
    store: &SharedStore,
    name: &str,
    hosts: &[String],
    who: &str,
) -> Result<Applied, StoreError> {
    let pool = store.create(name, hosts).await?;
    let n = count(pool.hosts.len());
    let summary = format!("created pool '{}' with {n}\n", pool.name);
    let entry = AuditEntry::now(AuditKind::PoolCreated, who, name, summary.trim_end())
        .change(None, Some(json!(pool.hosts)));
    Ok(Applied::whole(Some(pool), summary, entry))
}

async fn rename(
    store: &SharedStore,
    old: &str,
    new: &str,
    who: &str,
) -> Result<Applied, StoreError> {
    store.rename(old, new).await?;
    let summary = format!("renamed pool '{old}' to '{new}'\n");
    let (before, after) = (json!({ "name": old }), json!({ "name": new }));
    let entry = AuditEntry::now(AuditKind::PoolRenamed, who, old, summary.trim_end())
        .change(Some(before), Some(after));
    Ok(Applied::whole(store.get(new).await.ok(), summary, entry))
}

async fn delete(store: &SharedStore, name: &str, who: &str) -> Result<Applied, StoreError> {
    let before = store.get(name).await?;
    store.delete(name).await?;
    let summary = format!("deleted pool '{name}'\n");
    let entry = AuditEntry::now(AuditKind::PoolDeleted, who, name, summary.trim_end())
        .change(Some(json!(before.hosts)), None);
    Ok(Applied::whole(None, summary, entry))
}

async fn select(
    store: &SharedStore,
    name: &str,
    selection: &Selection,
    who: &str,
) -> Result<Applied, StoreError> {
    let before = store.get(name).await?;
    let after = store.set_selection(name, selection).await?;
    let rule = after.selection.select.as_deref().unwrap_or("none");
    let except = match after.selection.except.is_empty() {
        true => "none".to_string(),
        false => after.selection.except.join(" "),
    };
    let mut summary = format!("pool '{name}' selects: {rule}; except: {except}");
    let during = &after.selection.during;
    if !during.is_empty() || after.selection.time_zone.is_some() {
        let windows: Vec<String> = during
            .iter()
            .map(|(host, w)| format!("{host} {}", w.join(", ")))
            .collect();
        let windows = if windows.is_empty() {
            "none".to_string()
        } else {
            windows.join("; ")
        };
        let zone = after.selection.time_zone.as_deref().unwrap_or("server's");
        summary += &format!("; during: {windows}; time zone: {zone}");
    }
    summary.push('\n');
    let entry = AuditEntry::now(AuditKind::SelectionChanged, who, name, summary.trim_end())
        .change(Some(json!(before.selection)), Some(json!(after.selection)));
    Ok(Applied::whole(Some(after), summary, entry))
}

async fn set_spill(
    store: &SharedStore,
    name: &str,
    spill: &Spill,
    who: &str,
) -> Result<Applied, StoreError> {
    let before = store.get(name).await?;
    let after = store.set_spill(name, spill).await?;
    let summary = match after.spill.describe() {
        Some(line) => format!("pool '{name}' {line}\n"),
        None => format!("pool '{name}' never spills\n"),
    };
    let entry = AuditEntry::now(AuditKind::SpillChanged, who, name, summary.trim_end())
        .change(Some(json!(before.spill)), Some(json!(after.spill)));
    Ok(Applied::whole(Some(after), summary, entry))
}

async fn set_policy(
    store: &SharedStore,
    name: &str,
    policy: &PoolPolicy,
    who: &str,
) -> Result<Applied, StoreError> {
    let before = store.get(name).await?;
    let after = store.set_policy(name, policy).await?;
    let summary = match after.policy.is_empty() {
        true => format!("pool '{name}' has no policy\n"),
        false => format!(
            "pool '{name}' policy: {}\n",
            after.policy.summary().join("; ")
        ),
    };
    let entry = AuditEntry::now(AuditKind::PolicyChanged, who, name, summary.trim_end())
        .change(Some(json!(before.policy)), Some(json!(after.policy)));
    Ok(Applied::whole(Some(after), summary, entry))
}

/// Appends the entry of `applied`; on failure the change still stands and the error says why it
/// was not audited.
pub async fn record(audit: &dyn AuditLog, applied: &Applied) -> Result<(), StoreError> {
    audit.append(&applied.entry).await
}

/// Adds (`HostsAdded`) or removes hosts.
async fn host_change(
    store: &SharedStore,
    kind: AuditKind,
    name: &str,
    asked: &[String],
    who: &str,
) -> Result<Applied, StoreError> {
    let before = store.get(name).await?;
    let adding = kind == AuditKind::HostsAdded;
    let after = if adding {
        store.add_hosts(name, asked).await?
    } else {
        store.remove_hosts(name, asked).await?
    };
    let (changed, skipped) = difference(adding, &before, &after, asked);
    let summary = change_summary(adding, &after, &changed, &skipped);
    let entry = AuditEntry::now(kind, who, name, summary.trim_end())
        .change(Some(json!(before.hosts)), Some(json!(after.hosts)));
    Ok(Applied {
        pool: Some(after),
        changed,
        skipped,
        summary,
        entry,
    })
}

/// The hosts an add or remove changed, and the asked-for hosts it skipped (trimmed).
fn difference(
    adding: bool,
    before: &Pool,
    after: &Pool,
    asked: &[String],
) -> (Vec<String>, Vec<String>) {
    let changed: Vec<String> = if adding {
        after
            .hosts
            .iter()
            .filter(|h| !before.contains(h))
            .cloned()
            .collect()
    } else {
        before
            .hosts
            .iter()
            .filter(|h| !after.contains(h))
            .cloned()
            .collect()
    };
    let skipped = asked
        .iter()
        .map(|h| h.trim().to_string())
        .filter(|h| !changed.iter().any(|c| c.eq_ignore_ascii_case(h)))
        .collect();
    (changed, skipped)
}

/// `1 host`, `2 hosts`.
pub fn count(n: usize) -> String {
    match n {
        1 => "1 host".to_string(),
        n => format!("{n} hosts"),
    }
}

/// What an add or remove changed, including the requested hosts it skipped.
fn change_summary(adding: bool, after: &Pool, changed: &[String], skipped: &[String]) -> String {
    let (verb, into) = if adding {
        ("added", "to")
    } else {
        ("removed", "from")
    };
    let mut text = format!(
        "{verb} {} {into} pool '{}'",
        count(changed.len()),
        after.name
    );
    if !changed.is_empty() {
        text += &format!(": {}", changed.join(" "));
    }
    if !skipped.is_empty() {
        let why = if adding {
            "already members"
        } else {
            "not members"
        };
        text += &format!(" ({why}: {})", skipped.join(" "));
    }
    text + &format!("; now {}\n", count(after.hosts.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn summary_names_skipped_hosts() {
        let before = Pool::new("p", ["pc-1"]);
        let after = Pool::new("p", ["pc-1", "pc-2"]);
        let asked = strings(&["PC-1", "pc-2"]);
        let (changed, skipped) = difference(true, &before, &after, &asked);
        assert_eq!(
            (changed.clone(), skipped.clone()),
            (strings(&["pc-2"]), strings(&["PC-1"]))
        );
        assert_eq!(
            change_summary(true, &after, &changed, &skipped),
            "added 1 host to pool 'p': pc-2 (already members: PC-1); now 2 hosts\n"
        );
        let asked = strings(&["pc-2", "pc-9"]);
        let (changed, skipped) = difference(false, &after, &before, &asked);
        assert_eq!(
            change_summary(false, &before, &changed, &skipped),
            "removed 1 host from pool 'p': pc-2 (not members: pc-9); now 1 host\n"
        );
    }

    #[tokio::test]
    async fn apply_changes_the_store_and_builds_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::super::open(dir.path().join("p.json").to_str().unwrap())
            .await
            .unwrap();
        let create = PoolChange::Create {
            name: "gpu".into(),
            hosts: strings(&["a"]),
        };
        let made = apply(&store, create, "ann").await.unwrap();
        assert_eq!(made.pool, Some(Pool::new("gpu", ["a"])));
        assert_eq!(
            (made.entry.who.as_str(), made.entry.kind),
            ("ann", AuditKind::PoolCreated)
        );
        let add = PoolChange::Add {
            name: "gpu".into(),
            hosts: strings(&["A", "b"]),
        };
        let added = apply(&store, add, "ann").await.unwrap();
        assert_eq!(
            (added.changed, added.skipped),
            (strings(&["b"]), strings(&["A"]))
        );
        let bad = PoolChange::Add {
            name: "gpu".into(),
            hosts: strings(&["b c"]),
        };
        assert!(matches!(
            apply(&store, bad, "ann").await,
            Err(StoreError::InvalidHost(..))
        ));
        assert_eq!(store.get("gpu").await.unwrap().hosts, ["a", "b"]);
    }
}
