//! `afpool hosts` as a real process against the fake afserver: renders with their pools, and pool
//! members afserver does not know flagged; afserver down is exit code 2.

mod common;

use common::*;
use tokio::process::Command;

const AFPOOL: &str = env!("CARGO_BIN_EXE_afpool");

async fn afpool(store: &str, args: &[&str]) -> std::process::Output {
    Command::new(AFPOOL)
        .env("AFPOOL_STORE", store)
        .args(args)
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn hosts_joins_renders_and_pools_and_flags_unknown_members() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file:{}", dir.path().join("pools.json").display());
    let fake = FakeAfserver::start(farm()).await;
    let created = afpool(&store, &["pool", "create", "gpu", "GPU.node3", "gpu.nod4"]).await;
    assert!(created.status.success());
    let up = fake.addr.to_string();

    let out = afpool(&store, &["hosts", "--json", "--upstream", &up]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let renders = report["renders"].as_array().unwrap();
    assert_eq!(renders.len(), 5);
    let gpu = renders.iter().find(|r| r["name"] == "gpu.node3").unwrap();
    assert_eq!(gpu["pools"], serde_json::json!(["gpu"]));
    let r02 = renders.iter().find(|r| r["name"] == "render02").unwrap();
    assert_eq!(
        (
            r02["online"].as_bool(),
            r02["pools"].as_array().unwrap().len()
        ),
        (Some(false), 0)
    );
    assert_eq!(
        report["unknown_members"],
        serde_json::json!([{"host": "gpu.nod4", "pools": ["gpu"]}])
    );

    let human = afpool(&store, &["hosts", "--upstream", &up]).await;
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("gpu.nod4") && text.contains("UNKNOWN to afserver"),
        "{text}"
    );

    drop(fake);
    let free = free_addr();
    let down = afpool(&store, &["hosts", "--upstream", &free.to_string()]).await;
    assert_eq!(
        down.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
}
