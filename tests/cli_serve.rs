//! `afpool serve` as a real process: starts on the embedded file store, routes a job into a pool
//! created with `afpool pool`, picks up a pool edited while it runs, refuses a loop, and stops
//! cleanly on SIGTERM.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const AFPOOL: &str = env!("CARGO_BIN_EXE_afpool");

fn afpool(store: &str) -> Command {
    let mut cmd = Command::new(AFPOOL);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AFPOOL_STORE", store)
        .env("AFPOOL_LOG", "info")
        .kill_on_drop(true);
    cmd
}

async fn pool_cmd(store: &str, args: &[&str]) {
    let out = afpool(store).arg("pool").args(args).output().await.unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Start `afpool serve` and return it with the address it listens on (read from its log).
async fn serve(
    store: &str,
    upstream: &str,
) -> (
    Child,
    String,
    tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
) {
    let mut child = afpool(store)
        .args(["serve", "--listen", "127.0.0.1:0", "--upstream", upstream])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.split("listen=").nth(1) {
                return rest.split_whitespace().next().unwrap().to_string();
            }
        }
        panic!("afpool serve exited before listening");
    })
    .await
    .expect("afpool serve starts within 20 s");
    (child, addr, lines)
}

fn job_request(pool: &str, name: &str) -> Vec<u8> {
    let body = serde_json::json!({"job": {
        "name": name, "user_name": "artist", "hosts_mask": format!("pool:{pool}"),
        "blocks": [{"name": "b", "flags": 1, "frame_first": 1, "frame_last": 2, "command": "c @#@"}]
    }});
    afpool::protocol::encode::text_request(&serde_json::to_vec(&body).unwrap())
}

fn excludes(mask: &str, host: &str) -> bool {
    full_match(mask, host)
}

#[tokio::test]
async fn serve_routes_with_the_file_store_and_follows_pool_edits() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file:{}", dir.path().join("pools.json").display());
    let fake = FakeAfserver::start(farm()).await;
    pool_cmd(&store, &["create", "gpu", "gpu.node3"]).await;
    let (mut child, addr, mut log) = serve(&store, &fake.addr.to_string()).await;
    let proxy: std::net::SocketAddr = addr.parse().unwrap();

    let reply = send(proxy, &job_request("gpu", "first")).await;
    assert!(reply_json(&reply)["id"].as_i64().unwrap() > 0);
    let mask = fake.jobs()[0]["hosts_mask_exclude"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        excludes(&mask, "render01") && !excludes(&mask, "gpu.node3"),
        "{mask}"
    );

    // Edit the pool while the proxy runs; the proxy's log says each time it rebuilds its routing
    // (the render list arriving is one such rebuild, the edited pool another): after each, a
    // job is sent, until one is routed with the edited pool.
    pool_cmd(&store, &["add", "gpu", "render01"]).await;
    let mut sent = 1;
    let mask = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = log.next_line().await.unwrap() {
            if !line.contains("routing inventory rebuilt") {
                continue;
            }
            let reply = send(proxy, &job_request("gpu", "after")).await;
            assert!(reply_json(&reply)["id"].as_i64().unwrap() > 0);
            let mask = fake.jobs()[sent]["hosts_mask_exclude"]
                .as_str()
                .unwrap()
                .to_string();
            sent += 1;
            if !excludes(&mask, "render01") {
                return mask;
            }
        }
        panic!("afpool serve exited");
    })
    .await
    .expect("the running proxy routes with the edited pool within 20 s");
    assert!(
        excludes(&mask, "r10") && !excludes(&mask, "gpu.node3"),
        "{mask}"
    );

    // SIGTERM: graceful stop, exit code 0.
    let pid = child.id().unwrap() as i32;
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn serve_refuses_to_proxy_to_itself() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file:{}", dir.path().join("pools.json").display());
    let free = free_addr();
    let out = afpool(&store)
        .args([
            "serve",
            "--listen",
            &free.to_string(),
            "--upstream",
            &free.to_string(),
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loop"), "{err}");
}
