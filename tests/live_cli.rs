//! `afpool pool delete` with live jobs needs `--force`, and `afpool jobs` lists them, run as the
//! built binary in a temp dir against the fake afserver.

mod common;

use std::process::{Command, Output};

use afpool::job::MaskMode;
use afpool::protocol::encode;
use afpool::store::recorder::Recorder;
use afpool::store::registry::{JobMasks, PoolJob};
use afpool::store::StoreOptions;
use common::{farm, send, FakeAfserver};

fn afpool(store: &str, upstream: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_afpool"));
    for (var, _) in std::env::vars().filter(|(k, _)| k.starts_with("AFPOOL_")) {
        cmd.env_remove(var);
    }
    cmd.env("RUST_LOG", "off")
        .args(["--store", store])
        .args(args);
    if !upstream.is_empty() {
        cmd.args(["--upstream", upstream]);
    }
    cmd.output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_pool_with_live_jobs_needs_force_and_jobs_lists_them() {
    let fake = FakeAfserver::start(farm()).await;
    let job = br#"{"job":{"name":"shot","user_name":"ann","blocks":[{"name":"b","flags":1,"frame_first":1,"frame_last":4,"command":"x"}]}}"#;
    send(fake.addr, &encode::text_request(job)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file:{}", dir.path().join("pools.json").display());
    let out = afpool(
        &store,
        "",
        &["pool", "create", "gpu", "render01", "gpu.node3"],
    );
    assert!(out.status.success(), "{out:?}");
    let recorder = Recorder::open(&store, &StoreOptions::default(), 90)
        .await
        .unwrap();
    let registered = PoolJob {
        job_id: 1,
        pool: "gpu".into(),
        user: "ann".into(),
        job_name: "shot".into(),
        submitted_at: bson::DateTime::now(),
        masks_written: JobMasks::default(),
        user_masks: JobMasks::default(),
        mask_mode: MaskMode::Exclude,
        serial: None,
        held: None,
    };
    recorder.registry.upsert(&registered).await.unwrap();

    let up = fake.addr.to_string();
    let out = afpool(&store, &up, &["jobs", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["id"], 1);
    assert_eq!(rows[0]["pool"], "gpu");
    assert_eq!(rows[0]["state"], "RDY");
    assert_eq!(rows[0]["hosts_online"], 2);

    let out = afpool(&store, "", &["pool", "delete", "gpu"]);
    assert!(!out.status.success(), "refused without --force");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--force"),
        "{out:?}"
    );
    let out = afpool(&store, "", &["pool", "delete", "gpu", "--force"]);
    assert!(out.status.success(), "{out:?}");
}
