//! Optional: the shield in front of a real afserver 3.4.1. Runs only when `AFPOOL_REAL_AFSERVER`
//! names an afserver binary inside a CGRU tree (`<cgru>/afanasy/<os>/bin/afserver`, built as in
//! the project notes, listening on loopback only); otherwise it says it was skipped. CI never has
//! one. Every job below crashes or corrupts afserver 3.4.1 when sent to it directly; through
//! afpool each is refused and afserver keeps running, while the clamped and blank-name jobs
//! register and afserver's own `get jobs` reply stays valid JSON.

#[allow(unused_imports)] // the fake afserver is not used here
mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use afpool::job::RouteSettings;
use common::{free_addr, reply_json, send, spawn_proxy};
use serde_json::{json, Value};

/// A real afserver in a temp store, stopped on drop.
struct RealAfserver {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for RealAfserver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RealAfserver {
    /// Start `binary`; returns once it logs that it listens.
    fn start(binary: &Path) -> RealAfserver {
        let cgru = binary
            .ancestors()
            .nth(4)
            .expect("<cgru>/afanasy/<os>/bin/afserver");
        let dir = tempfile::tempdir().unwrap();
        let addr = free_addr();
        let mut child = Command::new(binary)
            .current_dir(dir.path())
            .env("CGRU_LOCATION", cgru)
            .env("AF_ROOT", cgru.join("afanasy"))
            .env("HOME", dir.path())
            .env("CGRU_AF_STORE_FOLDER", dir.path().join("store"))
            .env("CGRU_AF_SERVERNAME", "127.0.0.1")
            .env("CGRU_AF_SERVERPORT", addr.port().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start afserver");
        let (tx, rx) = mpsc::channel();
        let out: [Box<dyn std::io::Read + Send>; 2] = [
            Box::new(child.stdout.take().unwrap()),
            Box::new(child.stderr.take().unwrap()),
        ];
        for pipe in out {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        // afserver logs "Listening <port> port..." right after listen() (threadacceptclient.cpp).
        let listening = format!("Listening {} port", addr.port());
        while let Ok(line) = rx.recv() {
            if line.contains(&listening) {
                break;
            }
        }
        RealAfserver {
            child,
            addr,
            _dir: dir,
        }
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

fn text_request(v: &Value) -> Vec<u8> {
    let body = serde_json::to_vec(v).unwrap();
    [format!("AFANASY {} JSON", body.len()).as_bytes(), &body].concat()
}

fn job(extra: Value) -> Value {
    let mut j = json!({"name": "j", "user_name": "u", "host_name": "h", "blocks": [{"name": "b", "tasks": [{"name": "t", "command": "c"}]}]});
    j.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({ "job": j })
}

fn blocks(b: Value) -> Value {
    job(json!({ "blocks": [b] }))
}

fn numeric(frames: Value) -> Value {
    let mut b = json!({"name": "n", "flags": 1, "command": "x @#@"});
    b.as_object_mut()
        .unwrap()
        .extend(frames.as_object().unwrap().clone());
    blocks(b)
}

/// Jobs that crash or corrupt afserver 3.4.1 when sent to it directly.
fn harmful() -> Vec<Value> {
    vec![
        job(json!({"user_name": "\u{0}x"})),
        job(json!({"user_name": 5})),
        job(json!({"id": 1})),
        job(json!({"id": -1})),
        numeric(json!({"frame_last": 4294967295_i64})),
        numeric(json!({"frame_first": i64::MIN, "frame_last": i64::MAX})),
        blocks(json!({"tasks": [5]})),
        blocks(json!({"tasks_num": 3, "tasks": [{}]})),
        job(json!({"blocks": [null]})),
        job(json!({"user_name": "a\"b"})),
        job(json!({"host_name": "CORP\\ws01"})),
        blocks(json!({"tasks": [{"command": "a\u{1}b"}]})),
    ]
}

#[tokio::test]
async fn the_shield_keeps_a_real_afserver_alive_and_its_json_valid() {
    let Some(binary) = std::env::var_os("AFPOOL_REAL_AFSERVER") else {
        eprintln!("skipped: set AFPOOL_REAL_AFSERVER to an afserver 3.4.1 binary to run this test");
        return;
    };
    let mut afserver = RealAfserver::start(Path::new(&binary));
    let proxy = spawn_proxy(afserver.addr, Vec::new(), RouteSettings::default()).await;
    for request in &harmful() {
        let reply = reply_json(&send(proxy.addr, &text_request(request)).await);
        let error = reply["error"].as_str().unwrap_or_default();
        assert!(error.starts_with("afpool: "), "{request} -> {reply}");
        assert!(afserver.alive(), "afserver died on {request}");
    }
    let accepted = [
        numeric(json!({"frame_first": 10, "frame_last": 1, "frames_per_task": 0})),
        job(json!({"user_name": " ", "branch": "\\show\\x"})),
    ];
    for request in &accepted {
        let reply = reply_json(&send(proxy.addr, &text_request(request)).await);
        assert!(
            reply["id"].as_i64().unwrap_or(0) > 0,
            "{request} -> {reply}"
        );
    }
    // afserver's own reply, parsed strictly: valid JSON, the system job and the two accepted.
    let list = send(
        afserver.addr,
        &text_request(&json!({"get": {"type": "jobs"}})),
    )
    .await;
    let jobs = reply_json(&list);
    assert_eq!(
        jobs["jobs"].as_array().unwrap().len(),
        1 + accepted.len(),
        "{jobs}"
    );
    assert!(afserver.alive());
    proxy.shutdown.cancel();
}
