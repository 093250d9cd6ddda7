//! `afpool doctor` against the fake afserver and the file store: a healthy set-up is all ok,
//! and each fault, injected once, turns its own line to warn or fail (and only a failure makes
//! the binary exit 1).

mod common;

use afpool::doctor::{self, cgru::CgruEnv, Inputs, Report, Status};
use afpool::job::RouteSettings;
use afpool::secret::SecretUri;
use afpool::store::{Pool, StoreOptions};
use common::{FakeAfserver, FakeConfig};

fn fake_config() -> FakeConfig {
    FakeConfig {
        renders: vec![("gpu01".into(), true), ("gpu.node3".into(), false)],
        users: vec![
            ("alice".into(), "find".into()),
            ("bob".into(), "find".into()),
        ],
        ..FakeConfig::default()
    }
}

/// A pools file with `pools` in a fresh folder.
fn pools_file(pools: &[Pool]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pools.json");
    let docs: Vec<serde_json::Value> = pools
        .iter()
        .map(|p| {
            let clients: Vec<_> = p
                .hosts
                .iter()
                .map(|h| serde_json::json!({"hostname": h}))
                .collect();
            serde_json::json!({"name": p.name, "clients": clients})
        })
        .collect();
    std::fs::write(&path, serde_json::json!({ "pools": docs }).to_string()).unwrap();
    (dir, path)
}

fn inputs(upstream: std::net::SocketAddr, listen: String, store: &std::path::Path) -> Inputs {
    Inputs {
        upstream: common::upstream(upstream),
        listen,
        store: SecretUri::new(format!("file:{}", store.display())),
        store_options: StoreOptions::default(),
        settings: RouteSettings::default(),
        cgru: CgruEnv::default(),
    }
}

fn status(report: &Report, name: &str) -> Status {
    report
        .get(name)
        .unwrap_or_else(|| panic!("no {name}:\n{}", report.human()))
        .status
}

#[tokio::test]
async fn a_healthy_set_up_is_ok_and_each_fault_shows_on_its_own_line() {
    let fake = FakeAfserver::start(fake_config()).await;
    let (_dir, path) = pools_file(&[Pool::new("gpu", ["gpu01", "gpu.node3"])]);
    let proxy = common::spawn_proxy(fake.addr, vec![], RouteSettings::default()).await;
    let ours = inputs(fake.addr, proxy.addr.to_string(), &path);
    let report = doctor::run(&ours).await;
    for name in [
        "afserver",
        "afserver renders",
        "listen",
        "store",
        "store writable",
        "job registry",
        "audit log",
        "pool members",
        "empty pools",
        "pool masks",
        "afserver users",
    ] {
        assert_eq!(
            status(&report, name),
            Status::Ok,
            "{name}:\n{}",
            report.human()
        );
    }
    assert!(report
        .get("afserver")
        .unwrap()
        .detail
        .starts_with("3.4.1 at "));
    assert!(report
        .get("listen")
        .unwrap()
        .detail
        .contains("held by afpool serve"));
    assert!(!report.failed());

    // The listen port is afserver's own.
    let report = doctor::run(&Inputs {
        listen: fake.addr.to_string(),
        ..ours.clone()
    })
    .await;
    assert_eq!(status(&report, "listen"), Status::Fail);
    assert!(report
        .get("listen")
        .unwrap()
        .detail
        .contains("afserver's own port"));

    // A typo in a pool.
    let (_d, typo) = pools_file(&[Pool::new("gpu", ["gpu01", "gpu.nod3"])]);
    let report = doctor::run(&inputs(fake.addr, proxy.addr.to_string(), &typo)).await;
    let members = report.get("pool gpu: members").unwrap();
    assert_eq!(members.status, Status::Warn);
    assert!(
        members
            .detail
            .contains("gpu.nod3 (did you mean gpu.node3?)"),
        "{members:?}"
    );

    // The audit log cannot be written (a folder where the file should be).
    let (d, broken) = pools_file(&[Pool::new("gpu", ["gpu01"])]);
    std::fs::create_dir(d.path().join("audit.jsonl")).unwrap();
    let report = doctor::run(&inputs(fake.addr, proxy.addr.to_string(), &broken)).await;
    assert_eq!(status(&report, "audit log"), Status::Fail);
    assert_eq!(status(&report, "store writable"), Status::Ok);
}

#[tokio::test]
async fn users_in_the_other_mask_mode_are_named() {
    let mut config = fake_config();
    config.users.push(("carol".into(), "regex".into()));
    let fake = FakeAfserver::start(config).await;
    let (_dir, path) = pools_file(&[Pool::new("gpu", ["gpu01"])]);
    let report = doctor::run(&inputs(fake.addr, "127.0.0.1:0".into(), &path)).await;
    let users = report.get("afserver users").unwrap();
    assert_eq!(users.status, Status::Warn);
    assert!(users.detail.ends_with(": carol"), "{users:?}");
}

#[tokio::test]
async fn afserver_down_fails_and_the_binary_exits_1_with_json_lines() {
    let fake = FakeAfserver::start(fake_config()).await;
    fake.set_down(true);
    let (_dir, path) = pools_file(&[Pool::new("gpu", ["gpu01"])]);
    let report = doctor::run(&inputs(fake.addr, "127.0.0.1:0".into(), &path)).await;
    assert_eq!(status(&report, "afserver"), Status::Fail);
    assert_eq!(status(&report, "pool members"), Status::Warn);

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_afpool"))
        .args([
            "--store",
            &format!("file:{}", path.display()),
            "doctor",
            "--json",
        ])
        .args([
            "--upstream",
            &fake.addr.to_string(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env_remove("CGRU_LOCATION")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let afserver = lines.iter().find(|l| l["name"] == "afserver").unwrap();
    assert_eq!(afserver["status"], "fail");
    assert!(afserver["fix"].as_str().unwrap().contains("--upstream"));
}
