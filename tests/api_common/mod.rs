//! Helpers for the HTTP API tests: `afpool serve` as a real process in front of the fake
//! afserver, on a fresh file store, with its proxy and HTTP addresses read from its log (both
//! bound on port 0), every log line kept, and `afpool pool` run against the same store.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;

pub use crate::common::{FakeAfserver, FakeConfig};

const AFPOOL: &str = env!("CARGO_BIN_EXE_afpool");

/// A running `afpool serve`.
pub struct Served {
    /// The process (killed on drop).
    pub child: Child,
    /// The proxy's address.
    pub proxy: SocketAddr,
    /// The HTTP base URL (`http://127.0.0.1:PORT`), or `off`.
    pub http: String,
    /// The store spec.
    pub store: String,
    /// The fake afserver.
    pub fake: FakeAfserver,
    /// Every log line so far.
    log: Arc<Mutex<Vec<String>>>,
    logged: Arc<Notify>,
    _dir: tempfile::TempDir,
}

fn afpool(store: &str) -> Command {
    let mut cmd = Command::new(AFPOOL);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AFPOOL_STORE", store)
        .env("AFPOOL_LOG", "info")
        .env("USER", "tester")
        .kill_on_drop(true);
    cmd
}

/// Starts `afpool serve --http 127.0.0.1:0 EXTRA...` in front of a fake afserver with `farm`.
pub async fn serve(extra: &[&str], farm: FakeConfig) -> Served {
    serve_in(tempfile::tempdir().unwrap(), extra, farm).await
}

/// [`serve`] with files (tokens, certificates) already in `dir`.
pub async fn serve_in(dir: tempfile::TempDir, extra: &[&str], farm: FakeConfig) -> Served {
    let store = format!("file:{}", dir.path().join("pools.json").display());
    let fake = FakeAfserver::start(farm).await;
    let upstream = fake.addr.to_string();
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--upstream", &upstream];
    if !extra.contains(&"--http") {
        args.extend(["--http", "127.0.0.1:0"]);
    }
    args.extend(extra);
    let mut child = afpool(&store)
        .args(&args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (log, logged) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Notify::new()));
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (sink, bell) = (log.clone(), logged.clone());
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            sink.lock().unwrap().push(line);
            bell.notify_waiters();
        }
    });
    let mut served = Served {
        child,
        proxy: "0.0.0.0:0".parse().unwrap(),
        http: String::new(),
        store,
        fake,
        log,
        logged,
        _dir: dir,
    };
    let line = served.wait_log(0, |l| l.contains("afpool serving")).await;
    served.proxy = field(&line, "listen=").parse().unwrap();
    served.http = field(&line, "http=");
    served
}

fn field(line: &str, key: &str) -> String {
    let rest = line
        .split(key)
        .nth(1)
        .unwrap_or_else(|| panic!("{key} in {line}"));
    rest.split_whitespace().next().unwrap().to_string()
}

impl Served {
    /// `BASE/path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.http)
    }

    /// How many log lines there are so far.
    pub fn log_len(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    /// Every log line so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits (up to 20 s) for a log line from index `from` on that passes `test`.
    pub async fn wait_log(&self, from: usize, test: impl Fn(&str) -> bool) -> String {
        let wait = async {
            loop {
                let notified = self.logged.notified();
                if let Some(line) = self.log.lock().unwrap()[from..].iter().find(|l| test(l)) {
                    return line.clone();
                }
                notified.await;
            }
        };
        match tokio::time::timeout(Duration::from_secs(20), wait).await {
            Ok(line) => line,
            Err(_) => panic!("no such log line in 20 s; log:\n{}", self.log().join("\n")),
        }
    }

    /// Runs `afpool pool ARGS` on the same store; (success, stdout).
    pub async fn pool_cli(&self, args: &[&str]) -> (bool, String) {
        let out = afpool(&self.store)
            .arg("pool")
            .args(args)
            .output()
            .await
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// `afpool pool list --json`, parsed.
    pub async fn cli_pools(&self) -> Value {
        let (ok, out) = self.pool_cli(&["list", "--json"]).await;
        assert!(ok, "{out}");
        serde_json::from_str(&out).unwrap()
    }
}

/// A client that ignores proxy settings of the environment.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Status and JSON body of a response (JSON `null` when the body is not JSON).
pub async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The standard test farm (five renders).
pub fn farm() -> FakeConfig {
    crate::common::farm()
}
