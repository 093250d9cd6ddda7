//! afserver's address, resolved once and kept: `--upstream afserver.studio:51000` would otherwise
//! ask the system resolver (a blocking `getaddrinfo` on tokio's blocking pool) before every
//! request. An `IP:PORT` address is parsed each time (no lookup at all); a host name's addresses
//! are kept for [`KEEP`] and forgotten at once when a connection to them fails, so a farm that
//! moves afserver by DNS is followed within that time. The address is given on each call (an
//! [`super::Upstream`]'s `addr` is a public field), and a new one is resolved anew.

use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a host name's addresses are kept.
pub const KEEP: Duration = Duration::from_secs(30);

/// The addresses of the last host name resolved, and when.
#[derive(Debug)]
pub struct Resolver {
    keep: Duration,
    kept: Mutex<Option<Kept>>,
}

#[derive(Debug)]
struct Kept {
    addr: String,
    addrs: Vec<SocketAddr>,
    at: Instant,
}

impl Default for Resolver {
    fn default() -> Self {
        Self::keeping(KEEP)
    }
}

impl Resolver {
    /// A resolver that keeps a host name's addresses for `keep`.
    pub fn keeping(keep: Duration) -> Self {
        Resolver {
            keep,
            kept: Mutex::new(None),
        }
    }

    /// The addresses of `addr` (`HOST:PORT`) to connect to.
    pub async fn addrs(&self, addr: &str) -> io::Result<Vec<SocketAddr>> {
        if let Ok(ip) = addr.parse::<SocketAddr>() {
            return Ok(vec![ip]);
        }
        if let Some(addrs) = self.kept(addr) {
            return Ok(addrs);
        }
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host(addr).await?.collect();
        if addrs.is_empty() {
            let e = format!("{addr} resolves to no address");
            return Err(io::Error::new(io::ErrorKind::NotFound, e));
        }
        let kept = Kept {
            addr: addr.to_string(),
            addrs: addrs.clone(),
            at: Instant::now(),
        };
        *self.kept.lock().unwrap() = Some(kept);
        Ok(addrs)
    }

    /// A connection to the kept addresses failed: resolve again next time.
    pub fn forget(&self) {
        *self.kept.lock().unwrap() = None;
    }

    /// The kept addresses of `addr`, while fresh.
    fn kept(&self, addr: &str) -> Option<Vec<SocketAddr>> {
        let kept = self.kept.lock().unwrap();
        let k = kept.as_ref().filter(|k| k.addr == addr)?;
        (k.at.elapsed() < self.keep).then(|| k.addrs.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "localhost:4000";

    #[tokio::test]
    async fn an_ip_address_is_never_looked_up_or_kept() {
        let r = Resolver::default();
        let addrs = r.addrs("127.0.0.1:4000").await.unwrap();
        assert_eq!(addrs, ["127.0.0.1:4000".parse().unwrap()]);
        assert!(r.kept.lock().unwrap().is_none());
    }

    #[tokio::test]
    async fn a_host_name_is_kept_until_forgotten_stale_or_changed() {
        let r = Resolver::default();
        let addrs = r.addrs(HOST).await.unwrap();
        assert!(addrs
            .iter()
            .all(|a| a.ip().is_loopback() && a.port() == 4000));
        assert_eq!(r.kept(HOST), Some(addrs));
        assert_eq!(
            r.kept("localhost:4001"),
            None,
            "another address is resolved anew"
        );
        r.forget();
        assert!(r.kept(HOST).is_none());
        let stale = Resolver::keeping(Duration::ZERO);
        stale.addrs(HOST).await.unwrap();
        assert!(stale.kept(HOST).is_none(), "kept for no time");
    }

    #[tokio::test]
    async fn an_unknown_host_is_an_error() {
        let r = Resolver::default();
        assert!(r.addrs("no-such-host.invalid:4000").await.is_err());
        assert!(r.kept.lock().unwrap().is_none());
    }
}
