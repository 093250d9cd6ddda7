//! Who may submit into a pool: [`Compiled`] holds a pool's policy with its networks parsed and
//! conditions compiled (once per routing snapshot), and [`Compiled::admit`] checks a job. Order:
//! every `deny` entry (a match refuses), then every `allow` list that is set (each must match:
//! `allow users` and `allow networks` together mean that user from that network), then the
//! allowed services of every block. Fail-closed: a condition that gives no bool refuses, and so
//! does a stored network or condition that no longer reads (hand-edited documents).

use std::net::IpAddr;

use super::cidr::Network;
use super::cond::{Condition, JobFacts};
use super::data::{Acl, PoolPolicy};
use super::{block_service, Decision};
use crate::job::envelope::{Fields, Job};

/// One ACL side, ready to check.
#[derive(Debug, Clone, Default)]
struct Side {
    networks: Vec<Result<Network, String>>,
    when: Option<Result<Condition, String>>,
}

impl Side {
    fn of(acl: &Acl) -> Side {
        let networks = acl
            .networks
            .iter()
            .map(|n| Network::parse(n).map_err(|e| format!("stored network '{n}' is invalid: {e}")))
            .collect();
        let when = acl.when.as_deref().map(|c| {
            Condition::compile(c).map_err(|e| format!("stored condition is invalid: {e}"))
        });
        Side { networks, when }
    }
}

/// A pool's policy, compiled.
#[derive(Debug, Clone, Default)]
pub struct Compiled {
    policy: PoolPolicy,
    allow: Side,
    deny: Side,
}

impl Compiled {
    /// Compiles `policy` (never fails: what does not read refuses every job, see the module).
    pub fn new(policy: &PoolPolicy) -> Compiled {
        Compiled {
            allow: Side::of(&policy.allow),
            deny: Side::of(&policy.deny),
            policy: policy.clone(),
        }
    }

    /// The policy as stored.
    pub fn policy(&self) -> &PoolPolicy {
        &self.policy
    }

    /// Checks the job; each allowing rule is pushed to `seen`, the refusing one returned.
    pub(crate) fn admit(
        &self,
        job: &Job<'_>,
        pool: &str,
        peer: Option<IpAddr>,
        seen: &mut Vec<Decision>,
    ) -> Result<(), Decision> {
        let p = &self.policy;
        let peer = peer.map(super::cidr::canonical);
        let user = job.str_of("user_name").unwrap_or_default();
        let host = job.str_of("host_name").unwrap_or_default();
        let refuse = |rule: String, reason: String| Decision::Refused {
            pool: pool.to_string(),
            rule,
            reason,
        };
        let allowed = |rule: String| Decision::Allowed {
            pool: pool.to_string(),
            rule,
        };
        // Read on first use: only conditions need them.
        let cell = std::cell::OnceCell::new();
        let facts = || cell.get_or_init(|| JobFacts::of(job, peer));

        // Deny lists: any match refuses.
        if p.deny.users.contains(&user) {
            let rule = format!("deny users ({})", p.deny.users.join(", "));
            return Err(refuse(rule, format!("user_name '{user}'")));
        }
        if p.deny.hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
            let rule = format!("deny hosts ({})", p.deny.hosts.join(", "));
            return Err(refuse(rule, format!("host_name '{host}'")));
        }
        if !self.deny.networks.is_empty() {
            let rule = format!("deny networks ({})", p.deny.networks.join(", "));
            match peer {
                None => seen.push(allowed(format!("{rule}: not checked (no client address)"))),
                Some(addr) => match in_networks(&self.deny.networks, addr) {
                    Ok(false) => seen.push(allowed(format!("{rule}: client {addr} in none"))),
                    Ok(true) => return Err(refuse(rule, format!("client address {addr}"))),
                    Err(e) => return Err(refuse(rule, e)),
                },
            }
        }
        if let Some(cond) = &self.deny.when {
            let rule = format!("deny if {:?}", p.deny.when.as_deref().unwrap_or_default());
            match cond
                .as_ref()
                .map_err(Clone::clone)
                .map(|c| c.holds(facts()))
            {
                Ok(Ok(false)) => seen.push(allowed(format!("{rule}: false"))),
                Ok(Ok(true)) => return Err(refuse(rule, "true for this job".into())),
                Ok(Err(e)) | Err(e) => return Err(refuse(rule, format!("gives no bool: {e}"))),
            }
        }

        // Allow lists: each one set must match.
        if !p.allow.users.is_empty() {
            let rule = format!("allow users ({})", p.allow.users.join(", "));
            match p.allow.users.contains(&user) {
                true => seen.push(allowed(format!("{rule}: user_name '{user}'"))),
                false => return Err(refuse(rule, format!("user_name '{user}' is not listed"))),
            }
        }
        if !p.allow.hosts.is_empty() {
            let rule = format!("allow hosts ({})", p.allow.hosts.join(", "));
            match p.allow.hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
                true => seen.push(allowed(format!("{rule}: host_name '{host}'"))),
                false => return Err(refuse(rule, format!("host_name '{host}' is not listed"))),
            }
        }
        if !self.allow.networks.is_empty() {
            let rule = format!("allow networks ({})", p.allow.networks.join(", "));
            match peer {
                None => seen.push(allowed(format!("{rule}: not checked (no client address)"))),
                Some(addr) => match in_networks(&self.allow.networks, addr) {
                    Ok(true) => seen.push(allowed(format!("{rule}: client {addr}"))),
                    Ok(false) => {
                        return Err(refuse(rule, format!("client address {addr} is in none")))
                    }
                    Err(e) => return Err(refuse(rule, e)),
                },
            }
        }
        if let Some(cond) = &self.allow.when {
            let rule = format!("allow if {:?}", p.allow.when.as_deref().unwrap_or_default());
            match cond
                .as_ref()
                .map_err(Clone::clone)
                .map(|c| c.holds(facts()))
            {
                Ok(Ok(true)) => seen.push(allowed(format!("{rule}: true"))),
                Ok(Ok(false)) => return Err(refuse(rule, "false for this job".into())),
                Ok(Err(e)) | Err(e) => return Err(refuse(rule, format!("gives no bool: {e}"))),
            }
        }

        // Services of every block.
        if !p.services.is_empty() {
            let rule = format!("services ({})", p.services.join(", "));
            let blocks = job.blocks().and_then(Result::ok).unwrap_or(&[]);
            for (i, block) in blocks.iter().enumerate() {
                let service = block_service(block);
                if !p.services.contains(&service) {
                    let name = block.str_of("name").unwrap_or_else(|| i.to_string());
                    let reason = format!("block '{name}' has service '{service}'");
                    return Err(refuse(rule, reason));
                }
            }
            seen.push(allowed(format!("{rule}: every block")));
        }
        Ok(())
    }
}

/// Is `addr` in one of `networks`? A stored network that does not read is an error.
fn in_networks(networks: &[Result<Network, String>], addr: IpAddr) -> Result<bool, String> {
    for n in networks {
        if n.as_ref().map_err(Clone::clone)?.contains(addr) {
            return Ok(true);
        }
    }
    Ok(false)
}
