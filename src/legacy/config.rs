//! The old Pool Server's `poolserver/config.json`: `{"ip": string, "port": int, "max_clients":
//! int}`, defaults `""`, 9999 and 32. `ip` is the bind address and `""` means all interfaces (the
//! old configurator's "localhost" placeholder was wrong). The old server used `max_clients` only
//! as the `listen()` backlog; afpool uses it as the number of clients served at once.
//!
//! The file is found from the `--legacy-config` path, which names the old Pool Manager's
//! `poolmanager/config.json` (for the MongoDB address): its sibling folder `poolserver/` holds
//! this one. A folder is accepted too: the old install (`.../poolssupport`) or `$CGRU_LOCATION`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The old Pool Server's port.
pub const DEFAULT_PORT: u16 = 9999;
/// The old Pool Server's `max_clients`.
pub const DEFAULT_MAX_CLIENTS: usize = 32;

/// The old `poolserver/config.json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// Bind address; empty means all interfaces.
    pub ip: String,
    /// TCP port.
    pub port: u16,
    /// Clients served at once.
    pub max_clients: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            ip: String::new(),
            port: DEFAULT_PORT,
            max_clients: DEFAULT_MAX_CLIENTS,
        }
    }
}

impl ServerConfig {
    /// Parses the file's text.
    pub fn parse(text: &str) -> anyhow::Result<ServerConfig> {
        let config: ServerConfig = serde_json::from_str(text)?;
        Ok(ServerConfig {
            max_clients: config.max_clients.max(1),
            ..config
        })
    }

    /// Reads and parses the file at `path`.
    pub fn read(path: &Path) -> anyhow::Result<ServerConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading legacy Pool Server config {}", path.display()))?;
        ServerConfig::parse(&text)
            .with_context(|| format!("parsing legacy Pool Server config {}", path.display()))
    }

    /// The address to listen on: `ip:port`, all interfaces (`0.0.0.0`) when `ip` is empty.
    pub fn listen_addr(&self) -> String {
        match self.ip.trim() {
            "" => format!("0.0.0.0:{}", self.port),
            ip if ip.contains(':') && !ip.starts_with('[') => format!("[{ip}]:{}", self.port),
            ip => format!("{ip}:{}", self.port),
        }
    }
}

/// Where the old `poolserver/config.json` would be, given the `--legacy-config` path (the old
/// `poolmanager/config.json`, the old install folder, or `$CGRU_LOCATION`); the first candidate
/// that exists, else `None`.
pub fn locate(legacy: &Path) -> Option<PathBuf> {
    candidates(legacy).into_iter().find(|p| p.is_file())
}

/// The places [`locate`] looks, in order.
pub fn candidates(legacy: &Path) -> Vec<PathBuf> {
    let server = Path::new("poolserver").join("config.json");
    if legacy.is_dir() {
        let install = Path::new("utilities").join("poolssupport");
        return vec![legacy.join(&server), legacy.join(install).join(&server)];
    }
    let manager_dir = legacy.parent().unwrap_or(Path::new("."));
    let install = manager_dir.parent().unwrap_or(Path::new("."));
    vec![install.join(server)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::old_default(r#"{"ip": "", "port": 9999, "max_clients": 32}"#, "", 9999, 32)]
    #[case::configured(
        r#"{"ip": "10.0.0.5", "port": 9000, "max_clients": 5}"#,
        "10.0.0.5",
        9000,
        5
    )]
    #[case::empty_object("{}", "", 9999, 32)]
    #[case::zero_clients(r#"{"max_clients": 0}"#, "", 9999, 1)]
    #[case::extra_keys(r#"{"port": 1, "comment": "x"}"#, "", 1, 32)]
    fn parses_the_old_file(
        #[case] text: &str,
        #[case] ip: &str,
        #[case] port: u16,
        #[case] max_clients: usize,
    ) {
        let expected = ServerConfig {
            ip: ip.to_string(),
            port,
            max_clients,
        };
        assert_eq!(ServerConfig::parse(text).unwrap(), expected);
    }

    #[rstest]
    #[case::not_json("port=9999")]
    #[case::port_as_string(r#"{"port": "9999"}"#)]
    #[case::port_too_big(r#"{"port": 70000}"#)]
    fn refuses_bad_files(#[case] text: &str) {
        assert!(ServerConfig::parse(text).is_err());
    }

    #[rstest]
    #[case::all_interfaces("", "0.0.0.0:9999")]
    #[case::blank("  ", "0.0.0.0:9999")]
    #[case::ipv4("192.168.1.107", "192.168.1.107:9999")]
    #[case::ipv6("::1", "[::1]:9999")]
    #[case::name("localhost", "localhost:9999")]
    fn listen_address(#[case] ip: &str, #[case] expected: &str) {
        let config = ServerConfig {
            ip: ip.to_string(),
            ..ServerConfig::default()
        };
        assert_eq!(config.listen_addr(), expected);
    }

    #[test]
    fn finds_the_server_config_beside_the_manager_config() {
        let root = tempfile::tempdir().unwrap();
        let install = root.path().join("utilities/poolssupport");
        for dir in ["poolmanager", "poolserver"] {
            std::fs::create_dir_all(install.join(dir)).unwrap();
        }
        let manager = install.join("poolmanager/config.json");
        let server = install.join("poolserver/config.json");
        std::fs::write(&manager, "{}").unwrap();
        assert_eq!(locate(&manager), None);
        std::fs::write(&server, "{}").unwrap();
        assert_eq!(locate(&manager), Some(server.clone()));
        assert_eq!(locate(&install), Some(server.clone()));
        assert_eq!(locate(root.path()), Some(server));
    }
}
