//! What `afpool scan` reports (pure): each found machine with its name, whether afserver knows
//! it, and which pools hold it; and which name `--add` would put into a pool.
//!
//! afserver names renders by short host name, while reverse DNS may give a full one
//! (`pc-7.studio.lan`): a render matches when its name equals the DNS name or its first label,
//! compared case-insensitively. `--add` adds afserver's spelling when afserver knows the machine,
//! else the short DNS name; machines without a name are not added.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use serde::Serialize;

use super::probe::Found;
use crate::renders::RenderInfo;
use crate::store::Pool;

/// One found machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanRow {
    /// Reverse DNS name (`.localdomain` stripped), if any.
    pub host: Option<String>,
    /// The address.
    pub ip: Ipv4Addr,
    /// Open TCP ports.
    pub ports: Vec<u16>,
    /// Whether afserver knows the machine (`None`: afserver was not asked or did not answer).
    pub afserver: Option<bool>,
    /// afserver's name for it, when it knows it.
    pub render: Option<String>,
    /// Pools holding the machine (by afserver's name or the DNS name).
    pub pools: Vec<String>,
}

impl ScanRow {
    /// The name `--add` puts into a pool: afserver's, else the short DNS name.
    pub fn pool_name(&self) -> Option<String> {
        self.render
            .clone()
            .or_else(|| self.host.as_deref().map(short).map(str::to_string))
    }
}

/// A host name's first label.
fn short(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

/// Joins what was found with names, afserver's renders (if known) and the pools.
pub fn rows(
    found: &[Found],
    names: &HashMap<Ipv4Addr, String>,
    renders: Option<&[RenderInfo]>,
    pools: &[Pool],
) -> Vec<ScanRow> {
    found
        .iter()
        .map(|f| {
            let host = names.get(&f.ip).cloned();
            let render = host.as_deref().and_then(|h| render_named(renders?, h));
            // afserver's name when it knows the machine, else the DNS name and its short form.
            let candidates: Vec<&str> = match (&render, &host) {
                (Some(render), _) => vec![render],
                (None, Some(host)) => vec![host, short(host)],
                (None, None) => vec![],
            };
            let pools = pools
                .iter()
                .filter(|p| candidates.iter().any(|c| p.contains(c)))
                .map(|p| p.name.clone())
                .collect();
            ScanRow {
                afserver: renders.map(|_| render.is_some()),
                host,
                ip: f.ip,
                ports: f.open.clone(),
                render,
                pools,
            }
        })
        .collect()
}

/// afserver's name for the DNS name `host`: the render named `host`, else the one named its
/// first label (case-insensitively).
fn render_named(renders: &[RenderInfo], host: &str) -> Option<String> {
    let named = |name: &str| renders.iter().find(|r| r.name.eq_ignore_ascii_case(name));
    named(host)
        .or_else(|| named(short(host)))
        .map(|r| r.name.clone())
}

/// The names `--add POOL` would add: machines with a name that `pool` does not hold yet.
pub fn to_add(rows: &[ScanRow], pool: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for row in rows.iter().filter(|r| !r.pools.iter().any(|p| p == pool)) {
        if let Some(name) = row.pool_name() {
            if !names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
                names.push(name);
            }
        }
    }
    names
}

/// The human table: HOST IP PORTS AFSERVER POOLS.
pub fn table(rows: &[ScanRow]) -> String {
    if rows.is_empty() {
        return "no machine answered on the ports probed\n".to_string();
    }
    let cells = |r: &ScanRow| {
        let ports: Vec<String> = r.ports.iter().map(u16::to_string).collect();
        let afserver = match (&r.afserver, &r.render) {
            (Some(true), Some(name)) => format!("known ({name})"),
            (Some(_), _) => "not registered".to_string(),
            (None, _) => "?".to_string(),
        };
        let or_dash = |s: String| if s.is_empty() { "-".to_string() } else { s };
        vec![
            r.host.clone().unwrap_or_else(|| "-".to_string()),
            r.ip.to_string(),
            ports.join(","),
            afserver,
            or_dash(r.pools.join(",")),
        ]
    };
    let rows: Vec<Vec<String>> = rows.iter().map(cells).collect();
    crate::table::render(&["HOST", "IP", "PORTS", "AFSERVER", "POOLS"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(ip: [u8; 4], open: &[u16]) -> Found {
        Found {
            ip: Ipv4Addr::from(ip),
            open: open.to_vec(),
        }
    }

    fn fixture() -> Vec<ScanRow> {
        let found = [
            found([10, 0, 0, 1], &[22]),
            found([10, 0, 0, 2], &[445, 3389]),
            found([10, 0, 0, 3], &[22]),
            found([10, 0, 0, 4], &[22]),
        ];
        let names = HashMap::from([
            (
                Ipv4Addr::new(10, 0, 0, 1),
                "Render01.studio.lan".to_string(),
            ),
            (Ipv4Addr::new(10, 0, 0, 2), "ws-7".to_string()),
            (Ipv4Addr::new(10, 0, 0, 3), "gpu.node3".to_string()),
        ]);
        let renders = [
            RenderInfo::named("render01"),
            RenderInfo::named("gpu.node3"),
        ];
        let pools = [Pool::new("gpu", ["gpu.node3"]), Pool::new("ws", ["WS-7"])];
        rows(&found, &names, Some(&renders), &pools)
    }

    #[test]
    fn joins_names_renders_and_pools() {
        let rows = fixture();
        let summary: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.host.as_deref(),
                    r.afserver,
                    r.render.as_deref(),
                    r.pools.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    Some("Render01.studio.lan"),
                    Some(true),
                    Some("render01"),
                    vec![]
                ),
                (Some("ws-7"), Some(false), None, vec!["ws".to_string()]),
                (
                    Some("gpu.node3"),
                    Some(true),
                    Some("gpu.node3"),
                    vec!["gpu".to_string()]
                ),
                (None, Some(false), None, vec![]),
            ]
        );
    }

    #[test]
    fn add_uses_afservers_name_else_the_short_dns_name() {
        let rows = fixture();
        assert_eq!(to_add(&rows, "gpu"), ["render01", "ws-7"]);
        assert_eq!(to_add(&rows, "ws"), ["render01", "gpu.node3"]);
    }

    #[test]
    fn without_afserver_known_is_unknown() {
        let rows = rows(&[found([10, 0, 0, 9], &[22])], &HashMap::new(), None, &[]);
        assert_eq!(rows[0].afserver, None);
        assert!(table(&rows).contains("?"));
    }

    #[test]
    fn table_shows_every_column() {
        let text = table(&fixture());
        assert!(text.starts_with("HOST"), "{text}");
        assert!(
            text.contains("known (render01)") && text.contains("445,3389"),
            "{text}"
        );
        assert!(text.contains("not registered"), "{text}");
        assert_eq!(table(&[]), "no machine answered on the ports probed\n");
    }
}
