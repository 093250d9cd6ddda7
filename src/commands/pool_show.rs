//! `afpool pool show` for people: the pool, its rule and except list, and its members with why
//! each is one (`static`, or the values the rule read) and, for scheduled members, its windows
//! and when it next joins or leaves
//! (`ws-01  static, window Mon-Fri 19:00-07:00 (member now; leaves Tue 07:00 CET)`).

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
    for (host, windows) in &selection.during {
        text += &format!("during   {host}: {}\n", windows.join(", "));
    }
    if !selection.during.is_empty() || selection.time_zone.is_some() {
        let zone = selection
            .time_zone
            .as_deref()
            .unwrap_or("the server's local zone");
        text += &format!("zone     {zone}\n");
    }
    if let Some(spill) = pool.spill.describe() {
        text += &format!("spill    {spill}\n");
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
                    vec![format!("  {}", m.host), format!("{}{listed}", m.describe())]
                })
                .collect();
            if !rows.is_empty() {
                text += &crate::table::render(&["  HOST", "WHY"], &rows);
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(host: &str, during: &[&str], now: bool, next: Option<&str>) -> Member {
        Member {
            host: host.into(),
            why: "static".into(),
            listed: true,
            during: during.iter().map(|w| w.to_string()).collect(),
            member_now: now,
            next_change: None,
            next_change_short: next.map(str::to_string),
        }
    }

    #[test]
    fn scheduled_members_say_when() {
        let cases = [
            (
                member(
                    "ws-01",
                    &["Mon-Fri 19:00-07:00"],
                    true,
                    Some("Tue 07:00 CET"),
                ),
                "static, window Mon-Fri 19:00-07:00 (member now; leaves Tue 07:00 CET)",
            ),
            (
                member(
                    "ws-01",
                    &["Sat", "Sun 10:00-12:00"],
                    false,
                    Some("Sat 00:00 CET"),
                ),
                "static, windows Sat, Sun 10:00-12:00 (not a member now; joins Sat 00:00 CET)",
            ),
            (member("ws-02", &[], true, None), "static"),
            (
                member("ws-03", &["00:00-24:00"], true, None),
                "static, window 00:00-24:00 (member now)",
            ),
        ];
        for (m, want) in cases {
            assert_eq!(m.describe(), want);
        }
        let mut pool = Pool::new("night", ["ws-01"]);
        pool.selection
            .during
            .insert("ws-01".into(), vec!["Sat,Sun".into()]);
        let text = human(&pool, Some(&Ok(vec![cases_first()])));
        assert!(
            text.contains("during   ws-01: Sat,Sun\nzone     the server's local zone\n"),
            "{text}"
        );
        assert!(
            text.contains("  ws-01  static, window Sat,Sun (member now; leaves Mon 00:00 CET)"),
            "{text}"
        );
    }

    fn cases_first() -> Member {
        member("ws-01", &["Sat,Sun"], true, Some("Mon 00:00 CET"))
    }
}
