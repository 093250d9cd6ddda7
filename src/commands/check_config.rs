//! `afpool check-config`: read the config file (and the global `--store`) as `afpool serve`
//! reads it, validate every setting without starting anything, and print the settings it gives
//! (the store redacted). An admin runs it after editing `/etc/afpool/afpool.toml`; the package
//! test runs it on the packaged file.

use std::io::Write;

use anyhow::{bail, Context};
use clap::Args;

use crate::config::Config;

/// `afpool check-config` flags.
#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// Print nothing; only the exit status (0 valid, 1 invalid) tells.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Validate `config` as `afpool serve` would, then print its settings to `out`.
pub fn run(config: &Config, args: &CheckConfigArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let settings = settings(config).context("invalid settings")?;
    if !args.quiet {
        for (key, value) in settings {
            writeln!(out, "{key:<28} {value}")?;
        }
    }
    Ok(())
}

/// Every setting the config gives, validated, as (key, value) lines.
fn settings(config: &Config) -> anyhow::Result<Vec<(&'static str, String)>> {
    let listen = config.listen();
    check_host_port(listen, "listen")?;
    let upstream = config.upstream()?;
    check_host_port(&upstream.addr, "upstream")?;
    let limits = config.limits()?;
    let refresh = config.renders_refresh()?;
    config.relays()?;
    let relays = config
        .proxy_protocol_from
        .as_deref()
        .unwrap_or_default()
        .join(" ");
    let store = super::store_spec(config)?;
    let routing = &config.routing;
    let secs = |d: std::time::Duration| format!("{}", d.as_secs_f64());
    Ok(vec![
        ("listen", listen.to_string()),
        ("upstream", upstream.addr.clone()),
        ("store", store.redacted().into_owned()),
        ("max_connections", limits.max_connections.to_string()),
        (
            "first_message_timeout_secs",
            secs(limits.first_message_timeout),
        ),
        (
            "client_write_timeout_secs",
            secs(limits.client_write_timeout),
        ),
        ("connection_deadline_secs", secs(limits.connection_deadline)),
        ("drain_timeout_secs", secs(limits.drain_timeout)),
        ("max_inflight_bytes", limits.max_inflight_bytes.to_string()),
        ("connect_timeout_secs", secs(upstream.connect_timeout)),
        ("reply_timeout_secs", secs(upstream.reply_timeout)),
        ("renders_refresh_secs", secs(refresh)),
        ("audit_keep_days", audit_keep_days(config).to_string()),
        ("proxy_protocol_from", relays),
        (
            "routing.default_pool",
            routing.default_pool.clone().unwrap_or_default(),
        ),
        ("routing.mask_mode", word(routing.mask_mode)),
        ("routing.assume_mask_type", word(routing.assume_mask_type)),
        ("routing.annotate", routing.annotate.to_string()),
        ("routing.on_unknown_pool", word(routing.on_unknown_pool)),
        ("routing.on_empty_pool", word(routing.on_empty_pool)),
    ])
}

fn audit_keep_days(config: &Config) -> u32 {
    config
        .audit_keep_days
        .unwrap_or(crate::store::audit::DEFAULT_KEEP_DAYS)
}

/// A routing enum as the config file spells it.
fn word(value: impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

/// `HOST:PORT` with a port number (what serve binds to or connects to).
fn check_host_port(addr: &str, key: &str) -> anyhow::Result<()> {
    let Some((host, port)) = addr.rsplit_once(':') else {
        bail!("{key} = {addr:?}: not HOST:PORT");
    };
    if host.is_empty() || port.parse::<u16>().is_err() {
        bail!("{key} = {addr:?}: not HOST:PORT with a port number");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(toml_text: &str) -> anyhow::Result<String> {
        let config: Config = toml::from_str(toml_text)?;
        let mut out = Vec::new();
        run(&config, &CheckConfigArgs { quiet: false }, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn valid_settings_are_printed_and_invalid_ones_refused() {
        // (config text, Ok: a line the output holds / Err: a word of the error)
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("", Ok("listen                       0.0.0.0:51100")),
            ("", Ok("routing.on_unknown_pool      hold")),
            (
                "upstream = \"af:51000\"",
                Ok("upstream                     af:51000"),
            ),
            (
                "[routing]\nmask_mode = \"both\"",
                Ok("routing.mask_mode            both"),
            ),
            ("store = \"mongodb://u:pw@db/\"", Ok("mongodb://u:***@db/")),
            ("listen = \"0.0.0.0\"", Err("HOST:PORT")),
            ("upstream = \"af:port\"", Err("port number")),
            ("max_connections = 0", Err("max_connections")),
            ("reply_timeout_secs = -1", Err("reply_timeout_secs")),
            ("renders_refresh_secs = 0", Err("renders_refresh_secs")),
        ];
        for (text, want) in cases {
            match (check(text), want) {
                (Ok(out), Ok(line)) => assert!(out.contains(line), "{text}: {out}"),
                (Err(e), Err(word)) => assert!(format!("{e:#}").contains(word), "{text}: {e:#}"),
                (got, _) => panic!("{text}: {got:?}, wanted {want:?}"),
            }
        }
        assert!(!check("store = \"mongodb://u:pw@db/\"")
            .unwrap()
            .contains("pw@"));
    }

    /// `# key = value` lines of the packaged config uncommented.
    fn uncommented(text: &str) -> String {
        let is_key = |line: &str| {
            line.split_once(" = ")
                .is_some_and(|(k, _)| k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        };
        let lines = text.lines().map(|line| match line.strip_prefix("# ") {
            Some(rest) if is_key(rest) => rest,
            _ => line,
        });
        lines.collect::<Vec<_>>().join("\n")
    }

    /// Top-level and `[routing]` keys a TOML text sets, as `key` / `routing.key`.
    fn keys(text: &str) -> std::collections::BTreeSet<String> {
        let table: toml::Table = toml::from_str(text).unwrap();
        let mut keys = std::collections::BTreeSet::new();
        for (key, value) in &table {
            match value.as_table() {
                Some(inner) => keys.extend(inner.keys().map(|k| format!("{key}.{k}"))),
                None => drop(keys.insert(key.clone())),
            }
        }
        keys
    }

    #[test]
    fn the_packaged_config_is_valid_and_its_comments_are_the_defaults() {
        let text = include_str!("../../scripts/deb/afpool.toml");
        let packaged = check(text).unwrap();
        assert!(
            packaged.contains("file:/var/lib/afpool/pools.json"),
            "{packaged}"
        );
        let all = uncommented(text);
        let full = include_str!("../../fixtures/config/valid/full.toml");
        let missing: Vec<_> = keys(full).difference(&keys(&all)).cloned().collect();
        assert!(
            missing.is_empty(),
            "keys the packaged config does not show: {missing:?}"
        );
        // Uncommented, every key gives what the packaged file gives (the defaults), except the
        // example default pool.
        let differ: Vec<_> = packaged
            .lines()
            .zip(check(&all).unwrap().lines())
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("{a} / {b}"))
            .collect();
        assert_eq!(
            differ,
            ["routing.default_pool          / routing.default_pool         farm"]
        );
    }
}
