//! The proxy's listen address: free (afpool serve can bind it), or held by afpool serve already.
//! Who holds a taken port is asked with a body afpool answers itself: a JSON object with one key
//! twice, which afpool refuses in its own reply (`Server: afpool/VERSION` in HTTP framing) and
//! afserver answers as an unknown action (`Server: afanasy/VERSION`); neither does anything.

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use super::Check;
use crate::protocol::frame::{header_value, parse_reply};
use crate::upstream::Upstream;

/// The question only afpool answers itself.
pub const WHO_BODY: &[u8] = br#"{"afpool_doctor":1,"afpool_doctor":1}"#;

const NAME: &str = "listen";

/// Checks that `afpool serve` can listen on `listen`, or already does.
pub async fn check(listen: &str, upstream: &Upstream) -> Check {
    let addr = match tokio::net::lookup_host(listen).await.map(|mut a| a.next()) {
        Ok(Some(addr)) => addr,
        Ok(None) | Err(_) => {
            return Check::fail(
                NAME,
                format!("{listen} is not an address afpool can listen on"),
                "set --listen (or `listen` in the config file) to IP:PORT, e.g. 0.0.0.0:51100",
            )
        }
    };
    match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => free(listener, upstream).await,
        Err(e) if e.kind() == ErrorKind::AddrInUse => taken(addr).await,
        Err(e) if e.kind() == ErrorKind::PermissionDenied => Check::fail(
            NAME,
            format!("{addr}: {e}"),
            "ports below 1024 need root or CAP_NET_BIND_SERVICE: use 51100",
        ),
        Err(e) => Check::fail(
            NAME,
            format!("cannot listen on {addr}: {e}"),
            "listen on an address of this machine (0.0.0.0:51100 for every interface)",
        ),
    }
}

async fn free(listener: tokio::net::TcpListener, upstream: &Upstream) -> Check {
    let local = listener.local_addr().ok();
    drop(listener);
    let upstreams: Vec<SocketAddr> = match tokio::net::lookup_host(&upstream.addr).await {
        Ok(addrs) => addrs.collect(),
        Err(_) => Vec::new(),
    };
    match local.map(|l| crate::config::check_no_loop(l, &upstreams)) {
        Some(Err(e)) => Check::fail(
            NAME,
            e.to_string(),
            "afserver listens on 51000 by default: point --upstream there, the proxy elsewhere",
        ),
        _ => Check::ok(
            NAME,
            format!(
                "{} is free: afpool serve can listen there",
                local.map_or_else(String::new, |l| l.to_string())
            ),
        ),
    }
}

/// Who holds `addr`: afpool (fine), afserver or something else.
async fn taken(addr: SocketAddr) -> Check {
    let target = SocketAddr::new(reachable_ip(addr.ip()), addr.port());
    match who(&target.to_string()).await.as_deref() {
        Some(s) if s.starts_with("afpool/") => Check::ok(
            NAME,
            format!("{addr} is held by afpool serve ({s}): the proxy runs"),
        ),
        Some(s) if s.starts_with("afanasy/") => Check::fail(
            NAME,
            format!("{addr} is afserver's own port ({s})"),
            "the proxy needs a port of its own: --listen 0.0.0.0:51100, and afserver stays on 51000",
        ),
        _ => Check::fail(
            NAME,
            format!("{addr} is held by another program"),
            format!("find it with `ss -ltnp 'sport = :{}'`, or choose another --listen port", addr.port()),
        ),
    }
}

/// Who answers at `addr` (`HOST:PORT`): the `Server:` line of its reply to [`WHO_BODY`]
/// (`afpool/VERSION`, `afanasy/VERSION`), or `None` when nothing answers in HTTP.
pub async fn who(addr: &str) -> Option<String> {
    let mut ask = Upstream::new(addr);
    ask.connect_timeout = Duration::from_secs(2);
    ask.reply_timeout = Duration::from_secs(3);
    let head = format!(
        "POST / HTTP/1.1\r\nHost: afpool-doctor\r\nContent-Type: application/json\r\n\
         Content-Length: {n}\r\nAFANASY: {n}\r\n\r\n",
        n = WHO_BODY.len()
    );
    let reply = ask
        .exchange_parts(&[head.as_bytes(), WHO_BODY])
        .await
        .ok()?;
    server_of(&reply)
}

/// The `Server:` value of an HTTP reply.
pub fn server_of(reply: &[u8]) -> Option<String> {
    let frame = parse_reply(reply).ok()?;
    let value = header_value(&reply[..frame.body.start], b"server")?;
    Some(String::from_utf8_lossy(value).into_owned())
}

/// Where to connect to reach a listener bound to `ip` (a wildcard is reached on loopback).
fn reachable_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_line_of_a_reply() {
        let reply = crate::protocol::encode::reply(crate::protocol::frame::Framing::Http, b"{}");
        assert!(server_of(&reply).unwrap().starts_with("afpool/"));
        assert_eq!(server_of(b"AFANASY 2 JSON{}"), None);
        assert_eq!(
            reachable_ip("0.0.0.0".parse().unwrap()),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
    }
}
