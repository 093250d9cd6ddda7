//! Where afserver is, found the way CGRU's own tools find it: `--server`, else the
//! `CGRU_AF_SERVERNAME` / `CGRU_AF_SERVERPORT` variables, else `af_servername` / `af_serverport` in
//! `$CGRU_LOCATION/config.json`, else `127.0.0.1:51000`. Name and port are resolved separately, so
//! `CGRU_AF_SERVERPORT=51100` alone keeps the configured server name. [`resolve`] is pure; the
//! caller injects the environment and the config file's text.

use std::path::Path;

/// Server name when nothing names one.
pub const DEFAULT_NAME: &str = "127.0.0.1";
/// afserver's default port (`af_serverport` in CGRU's `afanasy/config_default.json`).
pub const DEFAULT_PORT: u16 = 51000;

/// The afserver address (`HOST:PORT`) from, in order: `flag`, the environment (looked up through
/// `env`), the text of `$CGRU_LOCATION/config.json` (`config_json`), the defaults. A flag without a
/// port takes the port from the other sources.
pub fn resolve(
    flag: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    config_json: Option<&str>,
) -> String {
    let config = config_json.map(parse_cgru_config).unwrap_or_default();
    let setting = |var: &str, key: &str| {
        env(var)
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.trim().to_string())
            .or_else(|| config_value(&config, key))
    };
    let port = setting("CGRU_AF_SERVERPORT", "af_serverport")
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(DEFAULT_PORT);
    if let Some(flag) = flag.map(str::trim).filter(|f| !f.is_empty()) {
        return if has_port(flag) {
            flag.to_string()
        } else {
            join(flag, port)
        };
    }
    let name =
        setting("CGRU_AF_SERVERNAME", "af_servername").unwrap_or_else(|| DEFAULT_NAME.to_string());
    join(&name, port)
}

/// [`resolve`] over this process's environment and `$CGRU_LOCATION/config.json` (a missing or
/// unreadable file is skipped).
pub fn from_environment(flag: Option<&str>) -> String {
    let env = |name: &str| std::env::var(name).ok();
    let config = std::env::var_os("CGRU_LOCATION")
        .and_then(|dir| std::fs::read_to_string(Path::new(&dir).join("config.json")).ok());
    resolve(flag, &env, config.as_deref())
}

/// The settings object of a CGRU config file: `{"cgru_config":{...}}` or a flat object. Lenient:
/// lines starting with `//` are dropped, and anything unreadable counts as no settings.
fn parse_cgru_config(text: &str) -> serde_json::Map<String, serde_json::Value> {
    let cleaned: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let Ok(serde_json::Value::Object(mut top)) = serde_json::from_str(&cleaned) else {
        return Default::default();
    };
    match top.remove("cgru_config") {
        Some(serde_json::Value::Object(inner)) => inner,
        _ => top,
    }
}

/// A config value as text (numbers and strings both accepted; empty strings ignored).
fn config_value(config: &serde_json::Map<String, serde_json::Value>, key: &str) -> Option<String> {
    match config.get(key)? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// True when `addr` already ends in a port (`host:51000`, `[::1]:51000`).
fn has_port(addr: &str) -> bool {
    match addr.rsplit_once(':') {
        Some((host, port)) => {
            port.parse::<u16>().is_ok() && (!host.contains(':') || host.ends_with(']'))
        }
        None => false,
    }
}

/// `host:port`, bracketing bare IPv6 addresses.
fn join(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const CGRU: &str = r#"{"cgru_config":{
        "":"comment",
        "af_servername":"afserver.studio",
        "af_serverport":51100
    }}"#;
    const FLAT_WITH_COMMENTS: &str = "// studio settings\n{\n  // the farm\n  \"af_servername\": \"farm\",\n  \"af_serverport\": \"52000\"\n}";

    #[rstest]
    #[case::nothing(None, &[], None, "127.0.0.1:51000")]
    #[case::flag_wins(Some("10.0.0.9:7000"), &[("CGRU_AF_SERVERNAME", "x")], Some(CGRU), "10.0.0.9:7000")]
    #[case::flag_without_port(Some("farm"), &[("CGRU_AF_SERVERPORT", "51100")], None, "farm:51100")]
    #[case::flag_ipv6(Some("::1"), &[], None, "[::1]:51000")]
    #[case::flag_ipv6_port(Some("[::1]:5"), &[], None, "[::1]:5")]
    #[case::env_both(None, &[("CGRU_AF_SERVERNAME", "af"), ("CGRU_AF_SERVERPORT", "51100")], Some(CGRU), "af:51100")]
    #[case::env_port_only(None, &[("CGRU_AF_SERVERPORT", "9")], Some(CGRU), "afserver.studio:9")]
    #[case::env_empty_ignored(None, &[("CGRU_AF_SERVERNAME", " ")], Some(CGRU), "afserver.studio:51100")]
    #[case::cgru_config(None, &[], Some(CGRU), "afserver.studio:51100")]
    #[case::flat_with_comments(None, &[], Some(FLAT_WITH_COMMENTS), "farm:52000")]
    #[case::broken_config(None, &[], Some("{nope"), "127.0.0.1:51000")]
    #[case::bad_port(None, &[("CGRU_AF_SERVERPORT", "x")], None, "127.0.0.1:51000")]
    fn resolves_in_cgru_order(
        #[case] flag: Option<&str>,
        #[case] vars: &[(&str, &str)],
        #[case] config: Option<&str>,
        #[case] expected: &str,
    ) {
        let env = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        assert_eq!(resolve(flag, &env, config), expected);
    }
}
