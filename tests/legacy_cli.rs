//! The legacy Pool Server as a real process: `afpool legacy-pool-server` reading the old
//! install's `poolserver/config.json`, and `afpool serve --legacy-pool-server`, each answering an
//! old-style `GET POOLS` with a pool created by `afpool pool`.

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
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

/// Starts `afpool ARGS` and returns it with the address its legacy Pool Server listens on.
async fn start(store: &str, args: &[&str]) -> (Child, String) {
    let mut child = afpool(store)
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if !line.contains("legacy Pool Server answering") {
                continue;
            }
            if let Some(rest) = line.split("listen=").nth(1) {
                return rest.split_whitespace().next().unwrap().to_string();
            }
        }
        panic!("afpool exited before its legacy Pool Server listened");
    })
    .await
    .expect("the legacy Pool Server starts within 20 s");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

/// The old client: request, one recv(1024), one recv(size).
fn get_pools(addr: String) -> Value {
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    socket
        .write_all(br#"{"type": "request", "command": "GET POOLS"}"#)
        .unwrap();
    let mut header = [0u8; 1024];
    let n = socket.read(&mut header).unwrap();
    let header: Value = serde_json::from_slice(&header[..n]).unwrap();
    let mut body = vec![0u8; header["size"].as_u64().unwrap() as usize];
    assert_eq!(socket.read(&mut body).unwrap(), body.len());
    serde_json::from_slice(&body).unwrap()
}

async fn create_pool(store: &str) {
    let out = afpool(store)
        .args(["pool", "create", "comp", "pc-1"])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn standalone_server_reads_the_old_install_config() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file:{}", dir.path().join("pools.json").display());
    create_pool(&store).await;
    let install = dir.path().join("utilities/poolssupport");
    for sub in ["poolmanager", "poolserver"] {
        std::fs::create_dir_all(install.join(sub)).unwrap();
    }
    let manager = install.join("poolmanager/config.json");
    std::fs::write(
        &manager,
        r#"{"mongodb_host": "localhost", "mongodb_port": 27017}"#,
    )
    .unwrap();
    let server = r#"{"ip": "127.0.0.1", "port": 0, "max_clients": 4}"#;
    std::fs::write(install.join("poolserver/config.json"), server).unwrap();
    let legacy = manager.display().to_string();
    let args = ["--legacy-config", &legacy, "legacy-pool-server"];
    let (mut child, addr) = start(&store, &args).await;
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let body = tokio::task::spawn_blocking(move || get_pools(addr))
        .await
        .unwrap();
    assert_eq!(body[0]["name"], "comp");
    assert_eq!(body[0]["clients"][0]["hostname"], "pc-1");
    child.kill().await.unwrap();
}

#[tokio::test]
async fn serve_answers_old_clients_beside_the_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file:{}", dir.path().join("pools.json").display());
    create_pool(&store).await;
    let upstream = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream = upstream.local_addr().unwrap().to_string();
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &upstream,
        "--legacy-pool-server",
        "127.0.0.1:0",
    ];
    let (mut child, addr) = start(&store, &args).await;
    let body = tokio::task::spawn_blocking(move || get_pools(addr))
        .await
        .unwrap();
    assert_eq!(body[0]["clients"][0]["hostname"], "pc-1");
    child.kill().await.unwrap();
}
