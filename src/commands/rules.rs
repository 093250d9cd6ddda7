//! `afpool rules list|add|remove|otherwise|clear`: the default pool rules, which pool a job gets
//! when it names none. Edits go through [`rules_change::apply_over`] (checked, audited as the OS
//! user; the first edit keeps a configured `default_pool` as the otherwise); a running proxy
//! follows them within its store's poll interval, no restart.

use std::io::Write;

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;

use crate::job::policy::cond::VARIABLES;
use crate::store::audit::{os_user, AuditLog};
use crate::store::rules::{DefaultRules, Otherwise, Rule};
use crate::store::rules_change::{self, otherwise_words, RulesEdit};
use crate::store::SharedStore;

const AFTER_HELP: &str = "\
A job that names no pool (no \"pool\" key, no pool in custom_data, no pool:NAME token in its \
masks) is tried against the rules in order; the first whose condition holds gives its pool, and \
the job is then routed as if it had named that pool (the pool's policy, then its masks). A job \
matching no rule gets what `otherwise` says: no pool (forwarded untouched, the default), a pool, \
or held (forwarded paused and kept off every host). With no rules stored, the routing setting \
default_pool applies.

Examples:
  afpool rules add \"'nuke' in services\" comp
  afpool rules add 'project == \"lighting\"' lighting --at 1
  afpool rules add 'user_name.startsWith(\"student\")' night
  afpool rules otherwise hold
  afpool rules list
  afpool explain shot010.json        # which rule a job file hits";

/// Default pool rules for jobs that name no pool: list, add, remove, otherwise, clear.
#[derive(Debug, Subcommand)]
#[command(after_help = AFTER_HELP)]
pub enum RulesCommand {
    /// List the rules in order (numbered from 1) and what jobs matching none get.
    List {
        /// One JSON document instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Add a rule: jobs naming no pool for which CONDITION holds go to POOL.
    #[command(after_help = condition_help())]
    Add {
        /// A CEL condition over the job, e.g. "'nuke' in services" (see below).
        condition: String,
        /// The pool matching jobs get (it need not exist yet: until it does, its jobs follow
        /// on_unknown_pool).
        pool: String,
        /// Insert as rule N (from 1) instead of last.
        #[arg(long, value_name = "N")]
        at: Option<usize>,
    },
    /// Remove rule N, as `afpool rules list` numbers them.
    Remove {
        /// The rule's number, from 1.
        number: usize,
    },
    /// What jobs matching no rule get: `none` (forwarded untouched), `hold` (forwarded paused
    /// and kept off every host), or a pool's name.
    Otherwise {
        /// none, hold, or POOL.
        choice: String,
    },
    /// Remove every rule and the otherwise: the routing setting default_pool applies again.
    Clear,
}

/// The condition variables, for `afpool rules add --help`.
fn condition_help() -> String {
    let mut text = String::from("Variables of a condition (CEL):\n");
    for (name, what) in VARIABLES {
        text += &format!("  {name:<13}{what}\n");
    }
    text += "\nExamples:\n  afpool rules add \"'nuke' in services\" comp\n  \
             afpool rules add 'project == \"lighting\" && priority <= 150' lighting --at 1";
    text
}

/// Runs one `afpool rules` command; `default_pool` is the routing setting (shown by `list`).
pub async fn run(
    store: SharedStore,
    audit: &dyn AuditLog,
    cmd: RulesCommand,
    default_pool: Option<&str>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let edit = match cmd {
        RulesCommand::List { json } => {
            let rules = store
                .rules()
                .await
                .context("cannot read the default pool rules")?;
            let text = match json {
                true => format!("{}\n", list_json(rules.as_ref(), default_pool)),
                false => list_text(rules.as_ref(), default_pool),
            };
            return Ok(out.write_all(text.as_bytes())?);
        }
        RulesCommand::Add {
            condition,
            pool,
            at,
        } => RulesEdit::Add {
            rule: Rule {
                when: condition,
                pool,
            },
            at,
        },
        RulesCommand::Remove { number } => RulesEdit::Remove { index: number },
        RulesCommand::Otherwise { choice } => RulesEdit::Otherwise(parse_otherwise(&choice)),
        RulesCommand::Clear => RulesEdit::Replace(None),
    };
    // The first edit starts from what default_pool stands for, so it is not silently dropped.
    let applied = rules_change::apply_over(&store, edit, &os_user(), default_pool).await?;
    out.write_all(applied.summary.as_bytes())?;
    if let Err(e) = audit.append(&applied.entry).await {
        eprintln!("afpool: warning: the change was made but not audited: {e}");
    }
    Ok(())
}

/// `none`, `hold`, or a pool name.
fn parse_otherwise(choice: &str) -> Otherwise {
    match choice {
        "none" => Otherwise::None,
        "hold" => Otherwise::Hold,
        pool => Otherwise::Pool(pool.to_string()),
    }
}

fn list_text(rules: Option<&DefaultRules>, default_pool: Option<&str>) -> String {
    let Some(rules) = rules else {
        return match default_pool {
            Some(p) => format!(
                "no default pool rules stored: jobs naming no pool get default_pool '{p}'\n"
            ),
            None => "no default pool rules stored: jobs naming no pool are forwarded \
                     untouched\n"
                .into(),
        };
    };
    let rows: Vec<Vec<String>> = rules
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| vec![(i + 1).to_string(), r.when.clone(), r.pool.clone()])
        .collect();
    let mut text = match rows.is_empty() {
        true => "no rules\n".to_string(),
        false => crate::table::render(&["#", "WHEN", "POOL"], &rows),
    };
    text += &format!("otherwise: {}\n", otherwise_words(&rules.otherwise));
    match default_pool {
        Some(p) if rules.otherwise != Otherwise::Pool(p.to_string()) => {
            text += &format!("(default_pool '{p}' is not used while rules are stored)\n");
        }
        _ => {}
    }
    text
}

fn list_json(rules: Option<&DefaultRules>, default_pool: Option<&str>) -> serde_json::Value {
    json!({
        "stored": rules.is_some(),
        "rules": rules.map_or(&[][..], |r| &r.rules[..]),
        "otherwise": rules.map(|r| &r.otherwise),
        "default_pool": default_pool,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_says_what_jobs_get() {
        assert_eq!(
            list_text(None, Some("farm")),
            "no default pool rules stored: jobs naming no pool get default_pool 'farm'\n"
        );
        let rules = DefaultRules {
            rules: vec![Rule {
                when: "'nuke' in services".into(),
                pool: "comp".into(),
            }],
            otherwise: Otherwise::Hold,
        };
        assert_eq!(
            list_text(Some(&rules), None),
            "#  WHEN                POOL\n1  'nuke' in services  comp\notherwise: held\n"
        );
        assert_eq!(
            list_json(Some(&rules), None).to_string(),
            r#"{"stored":true,"rules":[{"when":"'nuke' in services","pool":"comp"}],"otherwise":"hold","default_pool":null}"#
        );
    }

    #[test]
    fn otherwise_words_parse() {
        assert_eq!(parse_otherwise("none"), Otherwise::None);
        assert_eq!(parse_otherwise("hold"), Otherwise::Hold);
        assert_eq!(parse_otherwise("farm"), Otherwise::Pool("farm".into()));
    }
}
