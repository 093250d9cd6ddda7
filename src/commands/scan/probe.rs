//! The network part of `afpool scan`: TCP connects to every address and port, at most
//! `concurrency` in flight (a semaphore; tasks are spawned only as permits free up, so a /16
//! costs no more memory than a /29), each bounded by a timeout; then reverse DNS for the
//! addresses that had an open port.
//!
//! An address counts as found when a port accepts the connection. A refused connection is not
//! "found": on loopback every address refuses, and a firewall may answer for absent hosts.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use indicatif::ProgressBar;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// How to probe.
#[derive(Debug, Clone)]
pub struct Probe {
    /// TCP ports to try on every address.
    pub ports: Vec<u16>,
    /// Per-connect timeout.
    pub timeout: Duration,
    /// Connects in flight at most.
    pub concurrency: usize,
}

/// An address with at least one open port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The address.
    pub ip: Ipv4Addr,
    /// Ports that accepted a connection, ascending.
    pub open: Vec<u16>,
}

/// Lookups of names in flight at most.
const DNS_CONCURRENCY: usize = 32;
/// How long one reverse lookup may take.
const DNS_TIMEOUT: Duration = Duration::from_secs(3);

/// Probes every port of every address; ticks `bar` once per connect. Found addresses come back
/// in the order of `ips`.
pub async fn scan(ips: &[Ipv4Addr], probe: &Probe, bar: &ProgressBar) -> Vec<Found> {
    let permits = Arc::new(Semaphore::new(probe.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    let mut open: HashMap<Ipv4Addr, Vec<u16>> = HashMap::new();
    let mut record = |done: Option<(Ipv4Addr, u16, bool)>| {
        if let Some((ip, port, true)) = done {
            open.entry(ip).or_default().push(port);
        }
        bar.inc(1);
    };
    for &ip in ips {
        for &port in &probe.ports {
            let permit = permits.clone().acquire_owned().await;
            let permit = permit.expect("the semaphore is never closed");
            let timeout = probe.timeout;
            tasks.spawn(async move {
                let accepted = connects(ip, port, timeout).await;
                drop(permit);
                (ip, port, accepted)
            });
            while let Some(done) = tasks.try_join_next() {
                record(done.ok());
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        record(done.ok());
    }
    let mut found: Vec<Found> = ips
        .iter()
        .filter_map(|ip| {
            let mut ports = open.remove(ip)?;
            ports.sort_unstable();
            Some(Found {
                ip: *ip,
                open: ports,
            })
        })
        .collect();
    found.dedup_by_key(|f| f.ip);
    found
}

/// True when `ip:port` accepts a TCP connection within `timeout`.
async fn connects(ip: Ipv4Addr, port: u16, timeout: Duration) -> bool {
    let connect = TcpStream::connect((ip, port));
    matches!(tokio::time::timeout(timeout, connect).await, Ok(Ok(_)))
}

/// Reverse DNS names of `ips` (see [`clean_name`]); addresses without a name are left out.
pub async fn names(ips: &[Ipv4Addr]) -> HashMap<Ipv4Addr, String> {
    let lookups = ips.iter().map(|&ip| async move {
        let lookup = tokio::task::spawn_blocking(move || dns_lookup::lookup_addr(&IpAddr::V4(ip)));
        let name = match tokio::time::timeout(DNS_TIMEOUT, lookup).await {
            Ok(Ok(Ok(name))) => clean_name(&name, ip),
            _ => None,
        };
        name.map(|name| (ip, name))
    });
    let stream = futures_util::stream::iter(lookups).buffer_unordered(DNS_CONCURRENCY);
    stream.filter_map(|x| async move { x }).collect().await
}

/// A reverse DNS answer as a host name: no trailing dot, no `.localdomain`, `None` when it is
/// only the address again or empty.
pub fn clean_name(raw: &str, ip: Ipv4Addr) -> Option<String> {
    let name = raw.trim().trim_end_matches('.');
    let lower = name.to_ascii_lowercase();
    let name = match lower.strip_suffix(".localdomain") {
        Some(stripped) => &name[..stripped.len()],
        None => name,
    };
    if name.is_empty() || name.parse::<IpAddr>().is_ok() || name == ip.to_string() {
        return None;
    }
    Some(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::plain("render01", Some("render01"))]
    #[case::localdomain("render01.localdomain", Some("render01"))]
    #[case::localdomain_upper("PC-7.LocalDomain.", Some("PC-7"))]
    #[case::fqdn("gpu.node3.studio.lan.", Some("gpu.node3.studio.lan"))]
    #[case::only_localdomain("localdomain", Some("localdomain"))]
    #[case::numeric("10.0.0.5", None)]
    #[case::other_numeric("10.0.0.6", None)]
    #[case::empty(" ", None)]
    fn cleans_reverse_dns_names(#[case] raw: &str, #[case] expected: Option<&str>) {
        let ip = Ipv4Addr::new(10, 0, 0, 5);
        assert_eq!(clean_name(raw, ip).as_deref(), expected);
    }
}
