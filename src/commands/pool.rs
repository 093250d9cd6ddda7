//! `afpool pool ...`: list, show, create, rename, delete pools and add/remove their hosts.
//!
//! Human output is aligned tables; `--json` output is stable for scripts:
//! `list --json` prints `[{"name": "...", "hosts": ["..."]}]`, `show --json` one such object.
//! Errors are [`StoreError`]s wrapped in `anyhow`, so `main` can map `Unavailable` to exit code 2
//! and everything else to 1.
//!
//! Every change is appended to the audit log (who = the OS user, before/after = host lists, or
//! names for a rename). The change is made first; if the audit entry then cannot be written, a
//! warning says so on stderr and the command still succeeds (the change happened).

use std::io::Write;

use clap::Subcommand;

use crate::store::audit::os_user;
use crate::store::changes::{self, Applied, PoolChange};
use crate::store::recorder::Recorder;
use crate::store::registry::PoolJob;
use crate::store::{Pool, SharedStore, StoreError};
use crate::upstream::Upstream;

#[path = "pool_schedule.rs"]
pub mod schedule;
#[path = "pool_show.rs"]
mod show;

/// Manage render pools: named sets of render hosts that jobs can be routed to.
///
/// Host names are the names Afanasy shows for renders (letters, digits, `.`, `_`, `-`); they
/// are compared case-insensitively, so `PC-01` and `pc-01` are the same host. Pool names are
/// case-sensitive and may contain spaces, but not `|`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum PoolCommand {
    /// List every pool with its number of hosts and its members.
    List {
        /// Print JSON for scripts: `[{"name": "...", "hosts": ["..."]}]`.
        #[arg(long)]
        json: bool,
    },
    /// Show one pool and its hosts.
    Show {
        /// The pool's exact (case-sensitive) name.
        name: String,
        /// Print JSON for scripts: `{"name": "...", "hosts": ["..."]}`.
        #[arg(long)]
        json: bool,
    },
    /// Create a pool, optionally with its first hosts.
    ///
    /// Example: `afpool pool create lighting render-01 render-02`
    Create {
        /// Name of the new pool (no leading/trailing spaces, no `|`).
        name: String,
        /// Hosts to put in the pool right away.
        hosts: Vec<String>,
        /// Windows and time zone of scheduled members (see `afpool pool set --help`).
        #[command(flatten)]
        schedule: schedule::ScheduleArgs,
    },
    /// Rename a pool; fails if the new name is taken.
    ///
    /// Jobs already queued keep the host masks they were given; only new jobs see the new name.
    Rename {
        /// Current name.
        old: String,
        /// New name.
        new: String,
    },
    /// Delete a pool (its hosts are not touched in Afanasy).
    ///
    /// A pool with live jobs (registered by `afpool serve`) is deleted only with `--force`; its
    /// jobs then follow the unknown-pool policy (hold: fenced and paused).
    Delete {
        /// The pool to delete.
        name: String,
        /// Delete it even if live jobs are in it.
        #[arg(long)]
        force: bool,
    },
    /// Add hosts to a pool; hosts already in it (in any letter case) are skipped.
    ///
    /// Example: `afpool pool add lighting render-03 render-04`
    Add {
        /// The pool to change.
        name: String,
        /// Hosts to add.
        #[arg(required = true)]
        hosts: Vec<String>,
    },
    /// Remove hosts from a pool (matched case-insensitively); unknown hosts are ignored.
    Remove {
        /// The pool to change.
        name: String,
        /// Hosts to remove.
        #[arg(required = true)]
        hosts: Vec<String>,
    },
    /// Make a pool follow the farm: a rule selects renders by what afserver says they are.
    ///
    /// Members are the typed hosts, plus every render the rule selects, less the `--except`
    /// hosts. The rule is CEL over one render: `name`, `os`, `engine`, `properties`, `capacity`,
    /// `max_tasks`, `native_pool` (strings and ints from the render list) and `cpu_num`,
    /// `cpu_mhz`, `mem_total_mb`, `gpu_mem_total_mb`, `gpu_string`, `hw_info`, `hdd_total_gb`
    /// (from afserver's render resources), with `&&`, `||`, `!`, comparisons, `contains`,
    /// `startsWith`, `matches(RE)`, `lowerAscii()`. Renders afserver has not listed are never
    /// members. A rule that does not compile or names an unknown field is refused with its
    /// column. Settings not given stay as they are.
    ///
    /// Scheduled members: `--during HOST=WINDOWS` makes a host (or `*`, the renders the rule
    /// selects) a member only during its windows, read in the pool's `--time-zone`; outside
    /// them it is not a member, and live jobs re-target at every window edge (running tasks
    /// finish). `afpool pool show` says when each member next joins or leaves.
    ///
    /// Examples: `afpool pool set gpu --select 'gpu_mem_total_mb >= 20000 && os.contains("linux")'`,
    /// `afpool pool set gpu --except old-gpu01 --except old-gpu02`, `afpool pool set gpu --no-select`,
    /// `afpool pool set night --during ws-01='Mon-Fri 19:00-07:00' --during '*=Sat,Sun'
    /// --time-zone Europe/Berlin`, `afpool pool set night --always ws-01`
    ///
    /// The Policy flags set who may submit into the pool and what its jobs may ask for: deny
    /// lists refuse, every allow list given must match; a refused job is rejected with the rule
    /// in the reply (or held, `--on-refused hold`); values over a maximum are lowered, not
    /// refused, and the annotation says so (`[pool: lighting] priority 250→150`). E.g.
    /// `afpool pool set lighting --allow-networks 10.1.0.0/16 --allow-users anna,ben
    /// --max-priority 150 --default-priority 50 --max capacity=2000`,
    /// `afpool pool set lighting --clear allow-users`, `afpool pool set lighting --no-policy`.
    /// Policy flags go in a command of their own.
    Set {
        /// The pool to change.
        name: String,
        /// The rule that selects renders.
        #[arg(long, value_name = "RULE", conflicts_with = "no_select")]
        select: Option<String>,
        /// Remove the rule: the pool is its typed hosts again.
        #[arg(long)]
        no_select: bool,
        /// A host that is never a member (repeat for more; replaces the list).
        #[arg(long, value_name = "HOST", conflicts_with = "no_except")]
        except: Vec<String>,
        /// Empty the except list.
        #[arg(long)]
        no_except: bool,
        /// Spill-over: `--fallback cpu,cloud --spill-below 2 --spill-after 30m`, `--no-spill`.
        #[command(flatten)]
        spill: super::pool_spill::SpillArgs,
        /// Windows and time zone of scheduled members.
        #[command(flatten)]
        schedule: schedule::ScheduleArgs,
        /// The pool's policy.
        #[command(flatten)]
        policy: Box<super::pool_policy::PolicyArgs>,
    },
}

/// Runs one `afpool pool` subcommand against `store`, printing to stdout; changes are
/// recorded in the audit log as done by the OS user. A renamed pool keeps its live jobs; a pool
/// with live jobs is deleted only with `--force`.
///
/// `show` of a pool with a rule asks afserver at `upstream` for its renders, to list the
/// resolved members and why each is one.
pub async fn run(
    store: SharedStore,
    recorder: Recorder,
    cmd: PoolCommand,
    upstream: Option<Upstream>,
) -> anyhow::Result<()> {
    for cmd in schedule::split_create(cmd)? {
        run_one(&store, &recorder, cmd, upstream.as_ref()).await?;
    }
    Ok(())
}

async fn run_one(
    store: &SharedStore,
    recorder: &Recorder,
    cmd: PoolCommand,
    upstream: Option<&Upstream>,
) -> anyhow::Result<()> {
    if let PoolCommand::Delete { name, force: false } = &cmd {
        refuse_live_jobs(recorder, name).await?;
    }
    let renamed = match &cmd {
        PoolCommand::Rename { old, new } => Some((old.clone(), new.clone())),
        _ => None,
    };
    let (text, applied) = execute(store, cmd, &os_user(), upstream).await?;
    if let Some((old, new)) = renamed {
        follow_rename(recorder, &old, &new).await;
    }
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    for applied in applied {
        if let Err(e) = changes::record(recorder.audit.as_ref(), &applied).await {
            eprintln!("afpool: warning: the change was made but not audited: {e}");
        }
    }
    Ok(())
}

/// Deleting a pool that still has live jobs needs `--force`.
async fn refuse_live_jobs(recorder: &Recorder, name: &str) -> anyhow::Result<()> {
    let jobs = recorder.registry.list(Some(name)).await?;
    if jobs.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = jobs.iter().take(10).map(|j| j.job_id.to_string()).collect();
    anyhow::bail!(
        "pool '{name}' has {} live jobs (ids {}{}); delete it with --force and they follow the \
         unknown-pool policy (hold: fenced and paused)",
        jobs.len(),
        ids.join(", "),
        if jobs.len() > 10 { ", ..." } else { "" }
    )
}

/// A renamed pool keeps its live jobs: their registry records follow the new name.
async fn follow_rename(recorder: &Recorder, old: &str, new: &str) {
    let jobs = match recorder.registry.list(Some(old)).await {
        Ok(jobs) => jobs,
        Err(e) => return eprintln!("afpool: warning: live jobs of '{old}' not renamed: {e}"),
    };
    for job in jobs {
        let mut job = PoolJob::clone(&job);
        job.pool = new.into();
        if let Err(e) = recorder.registry.upsert(&job).await {
            eprintln!("afpool: warning: live job {} not renamed: {e}", job.job_id);
        }
    }
}

/// Runs the command; returns what it prints and, for a change, what it did (made by the store
/// layer shared with the HTTP API).
async fn execute(
    store: &SharedStore,
    cmd: PoolCommand,
    who: &str,
    upstream: Option<&Upstream>,
) -> Result<(String, Vec<Applied>), StoreError> {
    let change = match cmd {
        PoolCommand::List { json: true } => return Ok((to_json(&store.list().await?), vec![])),
        PoolCommand::List { json: false } => return Ok((list_table(&store.list().await?), vec![])),
        PoolCommand::Show { name, json } => {
            let pool = store.get(&name).await?;
            let members = members_of(&pool, upstream).await;
            let text = match json {
                true => to_json(&show_json(&pool, members.as_ref())),
                false => show::human(&pool, members.as_ref()),
            };
            return Ok((text, vec![]));
        }
        PoolCommand::Set {
            name,
            select,
            no_select,
            except,
            no_except,
            spill,
            schedule,
            policy,
        } if policy.given() => {
            let others = no_select || select.is_some() || no_except || !except.is_empty();
            if others || spill != Default::default() || !schedule.is_empty() {
                let why = "give policy flags in a command of their own (not with selection, \
                           schedule or spill-over flags)";
                return Err(StoreError::InvalidPolicy(why.into()));
            }
            let current = store.get(&name).await?.policy;
            let policy = Box::new(policy.applied_to(current));
            PoolChange::Policy { name, policy }
        }
        PoolCommand::Set {
            name,
            select,
            no_select,
            except,
            no_except,
            spill,
            schedule,
            ..
        } => {
            let pool = store.get(&name).await?;
            let mut selection = schedule.apply(pool.selection.clone());
            if no_select || select.is_some() {
                selection.select = select;
            }
            if no_except || !except.is_empty() {
                selection.except = except;
            }
            let selecting = no_select || no_except || selection != pool.selection;
            match spill.applied_to(&pool.spill) {
                Some(spill) if !selecting => PoolChange::Spill { name, spill },
                Some(spill) => {
                    let first = changes::apply(
                        store,
                        PoolChange::Select {
                            name: name.clone(),
                            selection,
                        },
                        who,
                    )
                    .await?;
                    let second =
                        changes::apply(store, PoolChange::Spill { name, spill }, who).await?;
                    let text = format!("{}{}", first.summary, second.summary);
                    return Ok((text, vec![first, second]));
                }
                None => PoolChange::Select { name, selection },
            }
        }
        PoolCommand::Create { name, hosts, .. } => PoolChange::Create { name, hosts },
        PoolCommand::Rename { old, new } => PoolChange::Rename { old, new },
        PoolCommand::Delete { name, .. } => PoolChange::Delete { name },
        PoolCommand::Add { name, hosts } => PoolChange::Add { name, hosts },
        PoolCommand::Remove { name, hosts } => PoolChange::Remove { name, hosts },
    };
    let applied = changes::apply(store, change, who).await?;
    Ok((applied.summary.clone(), vec![applied]))
}

/// The stable JSON shape for scripts.
fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("pools always serialize");
    text.push('\n');
    text
}

/// `NAME  HOSTS  MEMBERS` with aligned columns.
fn list_table(pools: &[Pool]) -> String {
    if pools.is_empty() {
        return "no pools yet; create one with `afpool pool create NAME [HOST...]`\n".to_string();
    }
    let row = |p: &Pool| {
        let members = if p.hosts.is_empty() {
            "-".to_string()
        } else {
            crate::natural::sorted(&p.hosts).join(" ")
        };
        vec![p.name.clone(), p.hosts.len().to_string(), members]
    };
    let rows: Vec<Vec<String>> = pools.iter().map(row).collect();
    crate::table::render(&["NAME", "HOSTS", "MEMBERS"], &rows)
}

/// The members of a pool with a selection, from afserver's renders (`None`: a typed list);
/// `Err`: why afserver could not say.
async fn members_of(pool: &Pool, upstream: Option<&Upstream>) -> Option<show::Members> {
    if pool.selection.is_empty() {
        return None;
    }
    let Some(upstream) = upstream else {
        return Some(Err("no afserver configured".into()));
    };
    let renders = crate::renders::fetch_with_resources(upstream).await;
    Some(match renders {
        Ok(list) => Ok(crate::select::resolve::members(
            pool,
            &list,
            jiff::Timestamp::now(),
        )),
        Err(e) => Err(format!("afserver at {}: {e}", upstream.addr)),
    })
}

/// `show --json`: the pool as stored, plus `members` (or `members_error`) for a selection.
fn show_json(pool: &Pool, members: Option<&show::Members>) -> serde_json::Value {
    let mut value = serde_json::to_value(pool).expect("pools always serialize");
    match members {
        Some(Ok(members)) => value["members"] = serde_json::json!(members),
        Some(Err(why)) => value["members_error"] = serde_json::json!(why),
        None => {}
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_aligned() {
        let text = list_table(&[
            Pool::new("comp", Vec::<String>::new()),
            Pool::new("lighting", ["pc-10", "pc-2"]),
        ]);
        let expected = "\
NAME      HOSTS  MEMBERS
comp      0      -
lighting  2      pc-2 pc-10
";
        assert_eq!(text, expected);
    }

    #[test]
    fn json_is_stable() {
        let text = to_json(&[Pool::new("a", ["h"])]);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value, serde_json::json!([{"name": "a", "hosts": ["h"]}]));
    }
}
