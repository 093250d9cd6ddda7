//! `afpool scan` as a real process, on loopback ONLY: listeners the test opens on 127.0.0.x are
//! found in 127.0.0.0/29 with their ports, afserver (a fake one) says which names it knows, the
//! pools say who holds what, and `--add` adds (after a `--dry-run` that changes nothing).
//! No other address is ever a target.

mod common;

use std::net::TcpListener;
use std::process::Output;

use common::{FakeAfserver, FakeConfig};
use serde_json::Value;
use tokio::process::Command;

const AFPOOL: &str = env!("CARGO_BIN_EXE_afpool");

struct Lab {
    _listeners: Vec<TcpListener>,
    ports: String,
    store: String,
    _dir: tempfile::TempDir,
    afserver: FakeAfserver,
}

/// Listeners on 127.0.0.1 (named `localhost` by /etc/hosts), 127.0.0.2 and 127.0.0.5; a fake
/// afserver that knows `localhost`; a file store.
async fn lab() -> Lab {
    let listeners: Vec<TcpListener> = ["127.0.0.1:0", "127.0.0.2:0", "127.0.0.5:0"]
        .iter()
        .map(|a| TcpListener::bind(a).expect("loopback listener"))
        .collect();
    let ports: Vec<String> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port().to_string())
        .collect();
    let config = FakeConfig {
        renders: vec![("localhost".to_string(), true)],
        ..FakeConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    Lab {
        _listeners: listeners,
        ports: ports.join(","),
        store: format!("file:{}", dir.path().join("pools.json").display()),
        _dir: dir,
        afserver: FakeAfserver::start(config).await,
    }
}

impl Lab {
    async fn afpool(&self, args: &[&str]) -> Output {
        Command::new(AFPOOL)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AFPOOL_STORE", &self.store)
            .env("AFPOOL_UPSTREAM", self.afserver.addr.to_string())
            .args(args)
            .output()
            .await
            .unwrap()
    }

    async fn scan(&self, extra: &[&str]) -> Output {
        let mut args = vec![
            "scan",
            "127.0.0.0/29",
            "--ports",
            &self.ports,
            "--timeout",
            "2000",
        ];
        args.extend_from_slice(extra);
        self.afpool(&args).await
    }
}

fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// (ip, number of open ports) of each row.
fn found(rows: &Value) -> Vec<(String, usize)> {
    let row = |r: &Value| {
        let ports = r["ports"].as_array().unwrap().len();
        (r["ip"].as_str().unwrap().to_string(), ports)
    };
    rows.as_array().unwrap().iter().map(row).collect()
}

#[tokio::test]
async fn finds_the_loopback_listeners_and_what_afserver_knows() {
    let lab = lab().await;
    ok(&lab.afpool(&["pool", "create", "night", "localhost"]).await);
    let rows: Value = serde_json::from_str(&ok(&lab.scan(&["--json"]).await)).unwrap();
    let expected = [("127.0.0.1", 1), ("127.0.0.2", 1), ("127.0.0.5", 1)];
    let expected: Vec<(String, usize)> = expected
        .iter()
        .map(|(ip, n)| (ip.to_string(), *n))
        .collect();
    assert_eq!(found(&rows), expected);
    let first = &rows[0];
    assert_eq!(first["host"], "localhost");
    assert_eq!(first["afserver"], true);
    assert_eq!(first["render"], "localhost");
    assert_eq!(first["pools"], serde_json::json!(["night"]));
    let port: u64 = lab.ports.split(',').next().unwrap().parse().unwrap();
    assert_eq!(first["ports"], serde_json::json!([port]));
    assert_eq!(rows[1]["afserver"], false);

    let table = ok(&lab.scan(&[]).await);
    assert!(table.starts_with("HOST"), "{table}");
    assert!(
        table.contains("known (localhost)") && table.contains("127.0.0.5"),
        "{table}"
    );
}

#[tokio::test]
async fn add_dry_run_changes_nothing_then_add_adds() {
    let lab = lab().await;
    ok(&lab.afpool(&["pool", "create", "night"]).await);
    let dry = lab.scan(&["--add", "night", "--dry-run", "--no-dns"]).await;
    ok(&dry);
    let said = String::from_utf8_lossy(&dry.stderr);
    assert!(said.contains("without a name not added"), "{said}");
    let dry = lab.scan(&["--add", "night", "--dry-run"]).await;
    ok(&dry);
    assert!(String::from_utf8_lossy(&dry.stderr).contains("would add to pool 'night': localhost"));
    let shown = ok(&lab.afpool(&["pool", "show", "night", "--json"]).await);
    assert_eq!(
        serde_json::from_str::<Value>(&shown).unwrap()["hosts"],
        serde_json::json!([])
    );
    let added = ok(&lab.scan(&["--add", "night"]).await);
    assert!(
        added.contains("added 1 host to pool 'night': localhost"),
        "{added}"
    );
    let shown = ok(&lab.afpool(&["pool", "show", "night", "--json"]).await);
    let hosts = &serde_json::from_str::<Value>(&shown).unwrap()["hosts"];
    assert_eq!(hosts, &serde_json::json!(["localhost"]));
}

#[tokio::test]
async fn refuses_large_ranges_and_bad_ports_before_probing() {
    let lab = lab().await;
    let out = lab.afpool(&["scan", "127.0.0.0/8", "--ports", "22"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("more than a /16"));
    let out = lab
        .afpool(&["scan", "127.0.0.0/29", "--ports", "137/udp"])
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a port list"));
    let out = lab.afpool(&["scan", "127.0.0.0/29", "--dry-run"]).await;
    assert!(!out.status.success(), "--dry-run needs --add");
}

#[tokio::test]
async fn without_afserver_known_is_unknown_not_an_error() {
    let lab = lab().await;
    let nobody = common::free_addr().to_string();
    let out = lab
        .scan(&["--json", "--no-dns", "--upstream", &nobody])
        .await;
    let rows: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(found(&rows).len(), 3);
    assert!(rows[0]["afserver"].is_null());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot list afserver's renders"));
}
