//! afpool's settings: the TOML config file's shape, defaults, and validation. Command-line flags and
//! `AFPOOL_*` environment variables (see `cli`) override what the file says.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;

use crate::job::RouteSettings;
use crate::proxy::proxy_header::TrustedRelays;
use crate::proxy::Limits;
use crate::secret::SecretUri;
use crate::upstream::Upstream;

/// Default proxy listen address.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:51100";
/// Default afserver address.
pub const DEFAULT_UPSTREAM: &str = "127.0.0.1:51000";

/// The config file (every key optional).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Proxy listen address.
    pub listen: Option<String>,
    /// afserver `HOST:PORT`.
    pub upstream: Option<String>,
    /// Pool store spec: `file:PATH` or a `mongodb://` URI (which may hold a password).
    pub store: Option<SecretUri>,
    /// The old Python tool's `poolmanager/config.json`, read for the MongoDB address.
    pub legacy_config: Option<String>,
    /// Most connections served at once.
    pub max_connections: Option<usize>,
    /// Seconds a client may take to send its message.
    pub first_message_timeout_secs: Option<f64>,
    /// Seconds a client may take to take its reply.
    pub client_write_timeout_secs: Option<f64>,
    /// Seconds a connection is served at most, whatever happens.
    pub connection_deadline_secs: Option<f64>,
    /// Seconds in-flight requests may take to finish on shutdown.
    pub drain_timeout_secs: Option<f64>,
    /// Bytes all large messages in flight may hold at once (default 1 GiB).
    pub max_inflight_bytes: Option<usize>,
    /// Seconds to connect to afserver.
    pub connect_timeout_secs: Option<f64>,
    /// Seconds to wait for afserver's reply.
    pub reply_timeout_secs: Option<f64>,
    /// Seconds between render list refreshes.
    pub renders_refresh_secs: Option<f64>,
    /// Days the audit log keeps entries (default 90).
    pub audit_keep_days: Option<u32>,
    /// Relays (HAProxy with `send-proxy` / `send-proxy-v2`) whose PROXY protocol header names the
    /// real client: addresses or networks. A PROXY header from anywhere else is refused.
    pub proxy_protocol_from: Option<Vec<String>>,
    /// How jobs are routed.
    #[serde(default)]
    pub routing: RouteSettings,
}

impl Config {
    /// Read a config file; a missing file named explicitly is an error.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "invalid config file {}: {}",
                path.display(),
                toml_error(&text, &e)
            )
        })
    }

    /// The afserver connection settings.
    pub fn upstream(&self) -> anyhow::Result<Upstream> {
        let mut up = Upstream::new(
            self.upstream
                .clone()
                .unwrap_or_else(|| DEFAULT_UPSTREAM.into()),
        );
        if let Some(s) = self.connect_timeout_secs {
            up.connect_timeout = secs(s, "connect_timeout_secs")?;
        }
        if let Some(s) = self.reply_timeout_secs {
            up.reply_timeout = secs(s, "reply_timeout_secs")?;
        }
        Ok(up)
    }

    /// The proxy's service limits.
    pub fn limits(&self) -> anyhow::Result<Limits> {
        let mut limits = Limits::default();
        if let Some(n) = self.max_connections {
            if n == 0 {
                bail!("max_connections must be at least 1");
            }
            limits.max_connections = n;
        }
        if let Some(s) = self.first_message_timeout_secs {
            limits.first_message_timeout = secs(s, "first_message_timeout_secs")?;
        }
        if let Some(s) = self.client_write_timeout_secs {
            limits.client_write_timeout = secs(s, "client_write_timeout_secs")?;
        }
        if let Some(s) = self.connection_deadline_secs {
            limits.connection_deadline = secs(s, "connection_deadline_secs")?;
        }
        if let Some(s) = self.drain_timeout_secs {
            limits.drain_timeout = secs(s, "drain_timeout_secs")?;
        }
        if let Some(n) = self.max_inflight_bytes {
            if n < crate::proxy::BUDGET_FREE_BELOW {
                bail!(
                    "max_inflight_bytes must be at least 1 MiB ({} bytes)",
                    crate::proxy::BUDGET_FREE_BELOW
                );
            }
            limits.max_inflight_bytes = n;
        }
        Ok(limits)
    }

    /// Interval of the render list refresh.
    pub fn renders_refresh(&self) -> anyhow::Result<Duration> {
        secs(
            self.renders_refresh_secs.unwrap_or(10.0),
            "renders_refresh_secs",
        )
    }

    /// The relays trusted to send a PROXY protocol header (none by default).
    pub fn relays(&self) -> anyhow::Result<TrustedRelays> {
        let entries = self.proxy_protocol_from.as_deref().unwrap_or_default();
        TrustedRelays::parse(entries).map_err(|e| anyhow::anyhow!("proxy_protocol_from: {e}"))
    }

    /// The listen address.
    pub fn listen(&self) -> &str {
        self.listen.as_deref().unwrap_or(DEFAULT_LISTEN)
    }
}

/// A TOML error as `line N, column M: message`, without the quoted source line, which could hold
/// the store URI's password.
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end();
    let Some(span) = e.span() else {
        return message.to_string();
    };
    let before = &text.as_bytes()[..span.start.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    format!("line {line}, column {column}: {message}")
}

fn secs(s: f64, what: &str) -> anyhow::Result<Duration> {
    if !(s.is_finite() && s > 0.0) {
        bail!("{what} must be a positive number of seconds, not {s}");
    }
    Ok(Duration::from_secs_f64(s))
}

/// Refuse an upstream that is the proxy itself (a loop): same port on the same or a wildcard address.
pub fn check_no_loop(listen: SocketAddr, upstream: &[SocketAddr]) -> anyhow::Result<()> {
    for up in upstream {
        let same_host = listen.ip() == up.ip()
            || listen.ip().is_unspecified()
            || (up.ip().is_loopback() && listen.ip().is_loopback());
        if up.port() == listen.port() && same_host {
            bail!("upstream {up} is this proxy's own listen address {listen}: that would loop; point --upstream at afserver");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_config_fixture_parses_or_fails_as_named() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/config");
        let mut seen = 0;
        for kind in ["valid", "invalid"] {
            for entry in std::fs::read_dir(format!("{dir}/{kind}")).unwrap() {
                let path = entry.unwrap().path();
                let parsed = Config::load(&path)
                    .and_then(|c| c.limits().and(c.upstream()).and(c.relays()).map(|_| c));
                assert_eq!(
                    parsed.is_ok(),
                    kind == "valid",
                    "{}: {parsed:?}",
                    path.display()
                );
                seen += 1;
            }
        }
        assert!(seen >= 4);
    }

    #[test]
    fn errors_name_the_line_but_never_quote_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("afpool.toml");
        let cases = [
            ("store = \"mongodb://u:hunter2@h\nlisten = 1\n", "line 1"),
            (
                "listen = \"x\"\nstor = \"mongodb://u:hunter2@h\"\n",
                "line 2, column 1",
            ),
        ];
        for (text, place) in cases {
            std::fs::write(&path, text).unwrap();
            let e = format!("{:#}", Config::load(&path).unwrap_err());
            assert!(e.contains(place) && !e.contains("hunter2"), "{e}");
        }
        std::fs::write(&path, "store = \"mongodb://u:hunter2@h/\"\n").unwrap();
        let config = Config::load(&path).unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
        assert_eq!(config.store.unwrap().expose(), "mongodb://u:hunter2@h/");
    }

    #[test]
    fn loops_are_refused() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(check_no_loop(a("0.0.0.0:51100"), &[a("127.0.0.1:51100")]).is_err());
        assert!(check_no_loop(a("127.0.0.1:51100"), &[a("127.0.0.1:51100")]).is_err());
        assert!(check_no_loop(a("0.0.0.0:51100"), &[a("127.0.0.1:51000")]).is_ok());
        assert!(check_no_loop(a("10.0.0.5:51100"), &[a("10.0.0.6:51100")]).is_ok());
    }
}
