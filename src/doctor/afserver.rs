//! afserver as the doctor sees it: reachable at the upstream, its version (the `Server:
//! afanasy/VERSION` line of an HTTP-framed reply) and round-trip time, both from one `get users`;
//! its render list (for the pool checks); and its users whose host-mask type (`find` or `regex`,
//! afserver 3.4's per-user default for jobs that name none) disagrees with `assume_mask_type`.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::Check;
use crate::job::MaskType;
use crate::protocol::frame::{header_value, parse_reply};
use crate::renders::{self, RenderInfo};
use crate::upstream::Upstream;

/// The request for every user, as afwatch asks for them.
pub const GET_USERS: &[u8] = br#"{"get":{"type":"users"}}"#;

/// A round trip slower than this is worth a warning: every submission pays it twice.
pub const SLOW: Duration = Duration::from_millis(500);

/// One afserver user and the host-mask type afserver gives its jobs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserMask {
    /// User name.
    pub name: String,
    /// `find` or `regex` (afserver 3.4; absent before).
    #[serde(default)]
    pub hosts_mask_type: Option<String>,
}

/// What afserver answered.
#[derive(Debug)]
pub struct Facts {
    /// The users, with the round-trip time and afserver's version; `Err`: why afserver could
    /// not be asked.
    pub users: Result<Users, String>,
    /// The render list (online and offline).
    pub renders: Result<Vec<RenderInfo>, String>,
}

/// The `get users` answer.
#[derive(Debug)]
pub struct Users {
    /// Connect, request and whole reply.
    pub rtt: Duration,
    /// From the reply's `Server:` line (`3.4.1`), when it has one.
    pub version: Option<String>,
    /// The users; `Err`: the reply was not a user list.
    pub list: Result<Vec<UserMask>, String>,
}

/// Asks afserver for its users and renders.
pub async fn ask(upstream: &Upstream) -> Facts {
    let users = get_users(upstream).await;
    let renders = match &users {
        Err(e) => Err(e.clone()),
        Ok(_) => renders::fetch_with_resources(upstream)
            .await
            .map_err(|e| e.to_string()),
    };
    Facts { users, renders }
}

/// `get users` in HTTP framing, as the web GUI sends it, so the reply names afserver's version.
pub fn users_request() -> Vec<u8> {
    let head = format!(
        "POST / HTTP/1.1\r\nHost: afpool-doctor\r\nContent-Type: application/json\r\n\
         Content-Length: {n}\r\nAFANASY: {n}\r\n\r\n",
        n = GET_USERS.len()
    );
    [head.as_bytes(), GET_USERS].concat()
}

async fn get_users(upstream: &Upstream) -> Result<Users, String> {
    let started = Instant::now();
    let reply = upstream
        .exchange(&users_request())
        .await
        .map_err(|e| e.to_string())?;
    let rtt = started.elapsed();
    let frame = parse_reply(&reply).map_err(|e| format!("afserver's reply: {e}"))?;
    let version = header_value(&reply[..frame.body.start], b"server")
        .and_then(|v| std::str::from_utf8(v).ok())
        .map(|v| v.strip_prefix("afanasy/").unwrap_or(v).to_string());
    Ok(Users {
        rtt,
        version,
        list: parse_users(&reply[frame.body]),
    })
}

/// Reads a `{"users":[...]}` body (leniently, like every afserver reply).
pub fn parse_users(body: &[u8]) -> Result<Vec<UserMask>, String> {
    #[derive(Deserialize)]
    struct Reply {
        users: Option<Vec<UserMask>>,
    }
    let reply: Reply = renders::from_slice_lenient(body).map_err(|e| e.to_string())?;
    reply
        .users
        .ok_or_else(|| "the reply has no \"users\" list".to_string())
}

/// `afserver` (reachable, version, round-trip time) and `afserver renders`.
pub fn checks(facts: &Facts, upstream: &Upstream) -> Vec<Check> {
    let addr = &upstream.addr;
    let users = match &facts.users {
        Err(e) => {
            return vec![Check::fail(
                "afserver",
                format!("not reachable at {addr}: {e}"),
                "start afserver, or point afpool at it with --upstream HOST:PORT (or `upstream` \
                 in the config file)",
            )]
        }
        Ok(users) => users,
    };
    let rtt = format!("{:.1} ms", users.rtt.as_secs_f64() * 1000.0);
    let main = match users.version.as_deref() {
        Some(v) if users.rtt > SLOW => Check::warn(
            "afserver",
            format!("{v} at {addr}, but one round trip took {rtt}"),
            "afserver or the network is slow: look at afserver's load and the route to it",
        ),
        Some(v) if v.starts_with("3.4.") => {
            Check::ok("afserver", format!("{v} at {addr}, round trip {rtt}"))
        }
        Some(v) => Check::warn(
            "afserver",
            format!("{v} at {addr}, round trip {rtt}; afpool is checked against afserver 3.4.1"),
            "test routing on this version before relying on it (afsubmit --dry-run, then a \
             real job), or upgrade CGRU to 3.4",
        ),
        None => Check::warn(
            "afserver",
            format!(
                "something answers at {addr} (round trip {rtt}) but does not say it is afserver"
            ),
            "check that --upstream names afserver's address and port (51000 by default)",
        ),
    };
    let renders = match &facts.renders {
        Ok(list) => {
            let online = list.iter().filter(|r| r.online).count();
            Check::ok(
                "afserver renders",
                format!("{} renders, {online} online", list.len()),
            )
        }
        Err(e) => Check::warn(
            "afserver renders",
            format!("the render list could not be read: {e}"),
            "pool members cannot be checked against afserver; look at afserver's log",
        ),
    };
    vec![main, renders]
}

/// `afserver users`: users whose mask type is not `assume_mask_type`.
pub fn users_check(facts: &Facts, assume: MaskType) -> Check {
    const NAME: &str = "afserver users";
    let list = match facts.users.as_ref().map(|u| &u.list) {
        Err(_) => {
            return Check::warn(
                NAME,
                "not checked: afserver not reachable",
                "see the afserver line",
            )
        }
        Ok(Err(e)) => {
            return Check::warn(
                NAME,
                format!("the user list could not be read: {e}"),
                "look at afserver's log",
            )
        }
        Ok(Ok(list)) => list,
    };
    let assumed = match assume {
        MaskType::Find => "find",
        MaskType::Regex => "regex",
    };
    let typed: Vec<&UserMask> = list
        .iter()
        .filter(|u| u.hosts_mask_type.is_some())
        .collect();
    let other: Vec<&str> = typed
        .iter()
        .filter(|u| u.hosts_mask_type.as_deref() != Some(assumed))
        .map(|u| u.name.as_str())
        .collect();
    if typed.is_empty() {
        return Check::ok(
            NAME,
            format!("{} users, none with a host-mask type (afserver before 3.4 reads every mask as a regex)", list.len()),
        );
    }
    if other.is_empty() {
        return Check::ok(
            NAME,
            format!(
                "{} users, every one in {assumed} mode, as assume_mask_type says",
                list.len()
            ),
        );
    }
    let theirs = if assumed == "find" { "regex" } else { "find" };
    let fix = if other.len() * 2 > typed.len() {
        format!("most users are in {theirs} mode: set assume_mask_type = \"{theirs}\" in the config's [routing] (or --assume-mask-type {theirs})")
    } else {
        format!("switch these users to {assumed} mode in afwatch (Users, Hosts Mask Type), or have their jobs set hosts_mask_type")
    };
    Check::warn(
        NAME,
        format!(
            "{} of {} users are in {theirs} mode but assume_mask_type is {assumed}, so afpool \
             reads the masks of their jobs unlike afserver: {}",
            other.len(),
            typed.len(),
            shorten(&other, 10)
        ),
        fix,
    )
}

/// The first `n` names, comma-separated, and how many more.
pub fn shorten(names: &[&str], n: usize) -> String {
    let mut text = names.iter().take(n).copied().collect::<Vec<_>>().join(", ");
    if names.len() > n {
        text.push_str(&format!(" and {} more", names.len() - n));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(users: &[(&str, Option<&str>)]) -> Facts {
        let list = users
            .iter()
            .map(|(n, t)| UserMask {
                name: n.to_string(),
                hosts_mask_type: t.map(str::to_string),
            })
            .collect();
        Facts {
            users: Ok(Users {
                rtt: Duration::from_millis(1),
                version: Some("3.4.1".into()),
                list: Ok(list),
            }),
            renders: Ok(vec![]),
        }
    }

    #[rstest::rstest]
    #[case(&[("a", Some("find")), ("b", Some("find"))], MaskType::Find, None)]
    #[case(&[("a", Some("find")), ("b", Some("regex"))], MaskType::Find, Some("switch these users"))]
    #[case(&[("a", Some("regex")), ("b", Some("regex"))], MaskType::Find, Some("assume_mask_type = \"regex\""))]
    #[case(&[("a", Some("find"))], MaskType::Regex, Some("assume_mask_type = \"find\""))]
    #[case(&[("a", None)], MaskType::Regex, None)]
    fn users_against_the_assumed_type(
        #[case] users: &[(&str, Option<&str>)],
        #[case] assume: MaskType,
        #[case] fix: Option<&str>,
    ) {
        let check = users_check(&facts(users), assume);
        match fix {
            None => assert_eq!(check.status, super::super::Status::Ok, "{check:?}"),
            Some(fix) => assert!(check.fix.as_deref().unwrap().contains(fix), "{check:?}"),
        }
    }

    #[test]
    fn users_reply_is_read_leniently() {
        let body = br#"{"users":[{"name":"CORP\util","hosts_mask_type":"regex"},{"name":"b"}]}"#;
        let users = parse_users(body).unwrap();
        assert_eq!(users[0].hosts_mask_type.as_deref(), Some("regex"));
        assert_eq!(users[1].hosts_mask_type, None);
        assert!(parse_users(br#"{"info":{}}"#).is_err());
        assert_eq!(shorten(&["a", "b", "c"], 2), "a, b and 1 more");
    }
}
