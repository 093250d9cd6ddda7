//! Helpers for the pool store tests: a backend under test (file store in a temp dir, or MongoDB
//! from `MONGODB_URI` with a database of its own), raw MongoDB access, and a SecantusDB server
//! that a test can stop and start again.
//!
//! Without `MONGODB_URI` the MongoDB tests print that they were skipped; with `CI=true` a
//! missing server fails them instead (`scripts/dev-mongo.sh run cargo test` provides one).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use afpool::store::file::FileStore;
use afpool::store::mongo::MongoStore;
use afpool::store::recorder::Recorder;
use afpool::store::{SharedStore, StoreOptions};
use bson::Document;
use tokio::process::{Child, Command};

/// True when running in CI, where a missing MongoDB is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The MongoDB URI for tests, or `None` (after printing a skip note) when it is not set.
pub fn mongo_uri(test: &str) -> Option<String> {
    match std::env::var("MONGODB_URI") {
        Ok(uri) if !uri.is_empty() => Some(uri),
        _ if in_ci() => panic!("CI=true but MONGODB_URI is not set: run via scripts/dev-mongo.sh"),
        _ => {
            println!("MONGODB_URI not set: skipped MongoDB test {test}");
            None
        }
    }
}

/// A database name no other test uses, so tests can run in parallel.
pub fn unique_db(test: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let short: String = test
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(30)
        .collect();
    format!("afp_{short}_{}_{n}", std::process::id())
}

/// A store backend under test; each [`Backend::store`] call opens a new, independent instance.
pub enum Backend {
    /// The file store in a temp dir.
    File(tempfile::TempDir),
    /// MongoDB: URI and the test's own database.
    Mongo { uri: String, db: String },
}

impl Backend {
    /// A file store in a fresh temp dir.
    pub fn file() -> Backend {
        Backend::File(tempfile::tempdir().expect("temp dir"))
    }

    /// A MongoDB store with its own database, or `None` when skipped.
    pub fn mongo(test: &str) -> Option<Backend> {
        Some(Backend::Mongo {
            uri: mongo_uri(test)?,
            db: unique_db(test),
        })
    }

    /// The file store's path.
    pub fn path(&self) -> PathBuf {
        match self {
            Backend::File(dir) => dir.path().join("pools.json"),
            Backend::Mongo { .. } => panic!("not a file backend"),
        }
    }

    /// A new store instance on the same data.
    pub async fn store(&self) -> SharedStore {
        match self {
            Backend::File(_) => Arc::new(FileStore::new(self.path())),
            Backend::Mongo { uri, db } => Arc::new(
                MongoStore::connect(uri, db, "pools")
                    .await
                    .expect("connect"),
            ),
        }
    }

    /// The job registry and audit log beside this backend's pools, keeping `keep_days`.
    pub async fn recorder(&self, keep_days: u32) -> Recorder {
        let (spec, options) = match self {
            Backend::File(_) => (
                format!("file:{}", self.path().display()),
                StoreOptions::default(),
            ),
            Backend::Mongo { uri, db } => {
                let options = StoreOptions {
                    database: db.clone(),
                    ..StoreOptions::default()
                };
                (uri.clone(), options)
            }
        };
        Recorder::open(&spec, &options, keep_days)
            .await
            .expect("open recorder")
    }

    /// Raw access to another collection of the test database (MongoDB).
    pub async fn raw_named(&self, name: &str) -> mongodb::Collection<Document> {
        match self {
            Backend::Mongo { uri, db } => {
                let client = mongodb::Client::with_uri_str(uri).await.expect("client");
                client.database(db).collection(name)
            }
            Backend::File(_) => panic!("not a MongoDB backend"),
        }
    }

    /// Raw access to the MongoDB collection.
    pub async fn raw(&self) -> mongodb::Collection<Document> {
        match self {
            Backend::Mongo { uri, db } => raw_collection(uri, db).await,
            Backend::File(_) => panic!("not a MongoDB backend"),
        }
    }

    /// Drops the test database (MongoDB); the temp dir goes away by itself.
    pub async fn cleanup(self) {
        if let Backend::Mongo { uri, db } = &self {
            let client = mongodb::Client::with_uri_str(uri).await.expect("client");
            let _ = client.database(db).drop().await;
        }
    }
}

/// The raw `pools` collection of database `db`.
pub async fn raw_collection(uri: &str, db: &str) -> mongodb::Collection<Document> {
    let client = mongodb::Client::with_uri_str(uri).await.expect("client");
    client.database(db).collection("pools")
}

/// The SecantusDB server binary: `$SECANTUSD` or `.dev/venv/bin/secantusd-py`, or `None`
/// (after printing a skip note; panics in CI).
pub fn secantusd(test: &str) -> Option<PathBuf> {
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".dev/venv/bin/secantusd-py");
    let found = std::env::var_os("SECANTUSD")
        .map(PathBuf::from)
        .or(Some(local));
    match found.filter(|p| p.exists()) {
        Some(path) => Some(path),
        None if in_ci() => panic!("CI=true but SecantusDB is missing: run scripts/dev-mongo.sh"),
        None => {
            println!("SecantusDB not installed (scripts/dev-mongo.sh): skipped {test}");
            None
        }
    }
}

/// A SecantusDB server on a fixed port and data dir, which a test can stop and restart.
pub struct Secantus {
    binary: PathBuf,
    /// The loopback port it listens on.
    pub port: u16,
    data: tempfile::TempDir,
    child: Option<Child>,
    extra: Vec<String>,
}

impl Secantus {
    /// Starts a server on a free loopback port with a fresh data dir and waits until it listens.
    pub async fn start(binary: PathBuf) -> Secantus {
        Secantus::start_with(binary, &[]).await
    }

    /// [`Secantus::start`] with extra server flags (e.g. `--standalone`: no replica set, so no
    /// change streams, like a plain `mongod`).
    pub async fn start_with(binary: PathBuf, extra: &[&str]) -> Secantus {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data = tempfile::tempdir().expect("data dir");
        let mut server = Secantus {
            binary,
            port,
            data,
            child: None,
            extra: extra.iter().map(|a| a.to_string()).collect(),
        };
        server.restart().await;
        server
    }

    /// The URI to reach it.
    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/", self.port)
    }

    /// Starts the server again on the same port and data dir; waits until it listens.
    pub async fn restart(&mut self) {
        let child = Command::new(&self.binary)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--storage-path",
            ])
            .arg(self.data.path().join("db"))
            .args(["--log-level", "WARNING"])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start secantusd-py");
        self.child = Some(child);
        let addr = format!("127.0.0.1:{}", self.port);
        // A process coming up has no event to await; poll its port, bounded at 30 s.
        for _ in 0..600 {
            if tokio::net::TcpStream::connect(&addr).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("secantusd-py did not listen on {addr} within 30 s");
    }

    /// Stops the server gracefully (SIGTERM, SIGKILL after 15 s) and waits for it to exit.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child.id() {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
        }
        if tokio::time::timeout(Duration::from_secs(15), child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }
}

/// Generates one test per case and backend: `file::<case>` and `mongo::<case>` (the test file
/// imports `Backend` and defines each case as `async fn case(&Backend)`).
#[allow(unused_macros)]
macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod file {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(&super::Backend::file()).await;
                }
            )*
        }
        mod mongo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let Some(backend) = super::Backend::mongo(stringify!($case)) else { return };
                    super::$case(&backend).await;
                    backend.cleanup().await;
                }
            )*
        }
    };
}

#[allow(unused_imports)]
pub(crate) use contract;
