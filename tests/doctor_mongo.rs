//! `afpool doctor` against a MongoDB-compatible server (from `MONGODB_URI`, each test in its own
//! database): a healthy store is ok on every store line and leaves nothing behind, and each
//! fault, injected once, turns its own line (a missing unique index, a typo in a pool read from
//! MongoDB, a server that does not answer).

mod common;
mod common_store;

use afpool::doctor::{self, cgru::CgruEnv, Inputs, Report, Status};
use afpool::job::RouteSettings;
use afpool::secret::SecretUri;
use afpool::store::StoreOptions;
use common::{FakeAfserver, FakeConfig};
use common_store::Backend;

fn inputs(upstream: std::net::SocketAddr, uri: &str, db: &str) -> Inputs {
    Inputs {
        upstream: common::upstream(upstream),
        listen: "127.0.0.1:0".into(),
        store: SecretUri::new(uri.to_string()),
        store_options: StoreOptions {
            database: db.to_string(),
            ..StoreOptions::default()
        },
        settings: RouteSettings::default(),
        cgru: CgruEnv::default(),
    }
}

fn line<'a>(report: &'a Report, name: &str) -> &'a doctor::Check {
    report
        .get(name)
        .unwrap_or_else(|| panic!("no {name}:\n{}", report.human()))
}

#[tokio::test]
async fn mongo_store_is_checked_and_each_fault_shows_on_its_own_line() {
    let Some(backend) = Backend::mongo("doctor_mongo") else {
        return;
    };
    let Backend::Mongo { uri, db } = &backend else {
        unreachable!()
    };
    let fake = FakeAfserver::start(FakeConfig {
        renders: vec![("gpu01".into(), true), ("gpu02".into(), true)],
        ..FakeConfig::default()
    })
    .await;
    let store = backend.store().await;
    store.create("gpu", &["gpu01".into()]).await.unwrap();

    let report = doctor::run(&inputs(fake.addr, uri, db)).await;
    for name in [
        "store",
        "pools index",
        "job registry",
        "audit log",
        "store writable",
        "pool members",
    ] {
        assert_eq!(
            line(&report, name).status,
            Status::Ok,
            "{name}:\n{}",
            report.human()
        );
    }
    assert!(line(&report, "store").detail.contains("1 pools"));
    assert!(line(&report, "pools index").detail.contains("name_1"));
    let client = mongodb::Client::with_uri_str(uri).await.unwrap();
    let names = client.database(db).list_collection_names().await.unwrap();
    assert!(
        !names.iter().any(|n| n == doctor::store::SCRATCH),
        "the write check left {names:?}"
    );

    // A pool written by another tool with a host afserver does not know.
    backend
        .raw()
        .await
        .insert_one(bson::doc! {"name": "cpu", "clients": [{"hostname": "gpu3"}]})
        .await
        .unwrap();
    let report = doctor::run(&inputs(fake.addr, uri, db)).await;
    let members = line(&report, "pool cpu: members");
    assert_eq!(members.status, Status::Warn, "{}", report.human());
    assert!(members.detail.contains("gpu3"), "{members:?}");

    // The unique index on the pool names is gone.
    backend.raw().await.drop_index("name_1").await.unwrap();
    let report = doctor::run(&inputs(fake.addr, uri, db)).await;
    let index = line(&report, "pools index");
    assert_eq!(index.status, Status::Warn, "{}", report.human());
    assert!(
        index.fix.as_deref().unwrap_or("").contains("createIndex"),
        "{index:?}"
    );
    assert!(!report.failed(), "a missing index is a warning only");
    backend.cleanup().await;
}

#[tokio::test]
async fn a_mongo_server_that_does_not_answer_fails_the_store_line() {
    let fake = FakeAfserver::start(FakeConfig::default()).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let uri = format!("mongodb://127.0.0.1:{port}/");
    let report = doctor::run(&inputs(fake.addr, &uri, "afpools")).await;
    let store = line(&report, "store");
    assert_eq!(store.status, Status::Fail, "{}", report.human());
    assert!(
        store.fix.as_deref().unwrap_or("").contains("MongoDB"),
        "{store:?}"
    );
    assert!(report.failed());
}
