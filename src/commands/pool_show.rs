//! `afpool pool show` for people: the pool, its rule and except list, and its members with why
//! each is one (`static`, or the values the rule read).

use crate::select::resolve::Member;
use crate::store::Pool;

/// The resolved members, or why afserver could not be asked.
pub type Members = Result<Vec<Member>, String>;

/// One pool, one host per line; a pool with a selection lists its resolved members.
pub fn human(pool: &Pool, members: Option<&Members>) -> String {
    let mut text = format!("pool     {}\n", pool.name);
    let selection = &pool.selection;
    if let Some(rule) = &selection.select {
        text += &format!("select   {rule}\n");
    }
    if !selection.except.is_empty() {
        text += &format!("except   {}\n", selection.except.join(" "));
    }
    for line in pool.policy.summary() {
        text += &format!("policy   {line}\n");
    }
    text += &format!("hosts    {}\n", pool.hosts.len());
    for host in crate::natural::sorted(&pool.hosts) {
        text += &format!("  {host}\n");
    }
    match members {
        None => {}
        Some(Err(why)) => text += &format!("members  unknown ({why}): the typed hosts only\n"),
        Some(Ok(members)) => {
            text += &format!("members  {}\n", members.len());
            let rows: Vec<Vec<String>> = members
                .iter()
                .map(|m| {
                    let listed = if m.listed {
                        ""
                    } else {
                        " (afserver lists no such render)"
                    };
                    vec![format!("  {}", m.host), format!("{}{listed}", m.why)]
                })
                .collect();
            if !rows.is_empty() {
                text += &crate::table::render(&["  HOST", "WHY"], &rows);
            }
        }
    }
    text
}
