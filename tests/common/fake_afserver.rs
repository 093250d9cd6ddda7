//! A fake afserver 3.4.1 on 127.0.0.1:0, faithful to the protocol notes and the captures: one
//! request per connection; the header must arrive in the first read(s) that make up 12 bytes or the
//! request is dropped without a reply; the reply goes back in the request's framing, followed by a
//! stray 0x20 byte in the same write; the server never closes first (it waits for the client, up to
//! 12 s). A job that crashes the real afserver 3.4.1 (no user name, no blocks, a block without tasks)
//! "crashes" the fake: it stops accepting and `crashed()` turns true.
//!
//! It reads messages itself ([`afserver_read`]), as afserver does and independently of afpool's
//! own code, so the two cannot share a mistake: binary types 23, 24 and 25 are JSON, `get` is a
//! request only when it is an object, and of two equal keys the first counts. Its render list
//! writes `user_name` unescaped, as afserver does; `get users` lists its users with their host-mask
//! type. It keeps submitted jobs, answers `get jobs` and applies job `action`s ([`fake_jobs`]),
//! answers the render list and its resources mode ([`fake_renders`]: renders can join and change
//! hardware while it runs), and can go down (refuse connections) and come back
//! on the same port. Also used by `examples/fake_afserver.rs` for benchmarks.
#![allow(dead_code)]

#[path = "afserver_read.rs"]
pub mod afserver_read;
#[path = "fake_jobs.rs"]
pub mod fake_jobs;
#[path = "fake_renders.rs"]
pub mod fake_renders;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use afserver_read::Kind;
use fake_jobs::FakeJobs;

/// How the fake behaves.
#[derive(Clone, Default)]
pub struct FakeConfig {
    /// Renders it knows: (name, online).
    pub renders: Vec<(String, bool)>,
    /// Exact request bytes → exact reply bytes (from the captures).
    pub scripted: HashMap<Vec<u8>, Vec<u8>>,
    /// Do not record requests (benchmarks).
    pub quiet: bool,
    /// Render name → the user it runs as, written into the render list unescaped like afserver
    /// does (`CORP\util` makes the list invalid JSON); other renders run as `render`.
    pub render_users: HashMap<String, String>,
    /// The body of every `get renders` reply instead of the list (e.g. garbage).
    pub renders_reply: Option<Vec<u8>>,
    /// Never answer `get renders` (hold the connection open, as a hung afserver would).
    pub renders_stall: bool,
    /// Users it knows: (name, `hosts_mask_type`), answered to `get users`.
    pub users: Vec<(String, String)>,
}

#[derive(Default)]
struct State {
    requests: Mutex<Vec<Vec<u8>>>,
    jobs: Mutex<Vec<serde_json::Value>>,
    dropped: AtomicUsize,
    probes: AtomicUsize,
    crashed: AtomicBool,
    decided: tokio::sync::watch::Sender<usize>,
    stalled: AtomicUsize,
    kept: Mutex<FakeJobs>,
    actions: tokio::sync::watch::Sender<usize>,
    down: tokio::sync::watch::Sender<bool>,
    renders: fake_renders::FakeRenders,
}

/// A running fake afserver.
pub struct FakeAfserver {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<State>,
    stop: CancellationToken,
}

impl Drop for FakeAfserver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl FakeAfserver {
    /// Start on 127.0.0.1:0.
    pub async fn start(config: FakeConfig) -> FakeAfserver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, config)
    }

    /// Serve on an already bound listener.
    pub fn serve(listener: TcpListener, config: FakeConfig) -> FakeAfserver {
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        state.decided.send_replace(0);
        let stop = CancellationToken::new();
        let config = Arc::new(config);
        tokio::spawn(accept_loop(listener, state.clone(), config, stop.clone()));
        FakeAfserver { addr, state, stop }
    }

    /// Go down (`true`: the port is closed, connections are refused) or come back up on the
    /// same port (`false`).
    pub fn set_down(&self, down: bool) {
        self.state.down.send_replace(down);
    }

    /// The renders, to add one or change a render's hardware while the fake runs.
    pub fn renders(&self) -> &fake_renders::FakeRenders {
        &self.state.renders
    }

    /// Every job afserver holds now, by id.
    pub fn kept_jobs(&self) -> Vec<fake_jobs::FakeJob> {
        self.state
            .kept
            .lock()
            .unwrap()
            .jobs
            .values()
            .cloned()
            .collect()
    }

    /// The job `id`, if afserver holds it.
    pub fn kept_job(&self, id: i64) -> Option<fake_jobs::FakeJob> {
        self.state.kept.lock().unwrap().jobs.get(&id).cloned()
    }

    /// Keeps `job` (a submission's `job` object) as if it had been submitted; its id and serial.
    pub fn keep(&self, job: &serde_json::Value) -> (i64, i64) {
        self.state.kept.lock().unwrap().add(job)
    }

    /// Deletes job `id` as an artist would in afwatch.
    pub fn delete_job(&self, id: i64) {
        self.state.kept.lock().unwrap().delete(id);
        self.state.actions.send_modify(|n| *n += 1);
    }

    /// Every job `action` received, in order.
    pub fn actions(&self) -> Vec<serde_json::Value> {
        self.state.kept.lock().unwrap().actions.clone()
    }

    /// Waits until `ready` holds for the jobs, checking after every change (bound it with a
    /// timeout); returns the jobs.
    pub async fn wait_jobs(
        &self,
        mut ready: impl FnMut(&[fake_jobs::FakeJob]) -> bool,
    ) -> Vec<fake_jobs::FakeJob> {
        let mut rx = self.state.actions.subscribe();
        loop {
            let jobs = self.kept_jobs();
            if ready(&jobs) {
                return jobs;
            }
            if rx.changed().await.is_err() {
                return jobs;
            }
        }
    }

    /// Every whole request received, in arrival order.
    pub fn requests(&self) -> Vec<Vec<u8>> {
        self.state.requests.lock().unwrap().clone()
    }
    /// Every job accepted (the `job` object), in arrival order.
    pub fn jobs(&self) -> Vec<serde_json::Value> {
        self.state.jobs.lock().unwrap().clone()
    }
    /// afpool health probes answered (not in [`FakeAfserver::requests`]).
    #[allow(dead_code)]
    pub fn probes(&self) -> usize {
        self.state.probes.load(Ordering::SeqCst)
    }

    /// Requests dropped for a split header.
    pub fn dropped(&self) -> usize {
        self.state.dropped.load(Ordering::SeqCst)
    }
    /// How many request headers the fake has judged so far.
    pub fn headers_judged(&self) -> usize {
        *self.state.decided.borrow()
    }
    /// Wait until the fake has judged `n` request headers (dropped or not).
    pub async fn wait_headers_judged(&self, n: usize) {
        let mut rx = self.state.decided.subscribe();
        let _ = rx.wait_for(|d| *d >= n).await;
    }
    /// True once a job that crashes afserver 3.4.1 arrived.
    pub fn crashed(&self) -> bool {
        self.state.crashed.load(Ordering::SeqCst)
    }
    /// How many `get renders` requests are being held unanswered (`renders_stall`).
    pub fn stalled(&self) -> usize {
        self.state.stalled.load(Ordering::SeqCst)
    }
}

async fn accept_loop(
    listener: TcpListener,
    st: Arc<State>,
    config: Arc<FakeConfig>,
    token: CancellationToken,
) {
    let addr = listener.local_addr().unwrap();
    let mut listener = Some(listener);
    let mut down = st.down.subscribe();
    loop {
        let Some(open) = &listener else {
            tokio::select! {
                _ = down.wait_for(|d| !*d) => {}
                _ = token.cancelled() => return,
            }
            listener = Some(rebind(addr).await);
            continue;
        };
        let socket = tokio::select! {
            s = open.accept() => match s { Ok((s, _)) => s, Err(_) => continue },
            _ = down.wait_for(|d| *d) => { listener = None; continue }
            _ = token.cancelled() => return,
        };
        let (st, cfg, token) = (st.clone(), config.clone(), token.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = connection(socket, &st, &cfg, &token) => {}
                _ = token.cancelled() => {}
            }
        });
    }
}

/// Listens on `addr` again (the port was just released; a few tries cover a slow release).
async fn rebind(addr: SocketAddr) -> TcpListener {
    let mut last = None;
    for _ in 0..50 {
        match TcpListener::bind(addr).await {
            Ok(l) => return l,
            Err(e) => last = Some(e),
        }
        tokio::task::yield_now().await;
    }
    panic!("cannot listen on {addr} again: {last:?}");
}

async fn connection(mut s: TcpStream, st: &State, cfg: &FakeConfig, stop: &CancellationToken) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    // Like afserver: read until at least 12 bytes, then decide from those bytes only.
    while buf.len() < 12 {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let judged = afserver_read::header(&buf);
    let Some((kind, start, len)) = judged else {
        st.decided.send_modify(|d| *d += 1);
        st.dropped.fetch_add(1, Ordering::SeqCst);
        return; // split or bad header: closed without a reply
    };
    while buf.len() < start + len {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return st.decided.send_modify(|d| *d += 1),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    if &buf[start..start + len] == afpool::upstream::PROBE_BODY {
        // afpool's health probe: answered, never counted among the requests
        st.probes.fetch_add(1, Ordering::SeqCst);
        let _ = s.write_all(&framed(kind, br#"{"users":[]}"#)).await;
        return;
    }
    st.decided.send_modify(|d| *d += 1);
    let request = buf[..start + len].to_vec();
    if !cfg.quiet {
        st.requests.lock().unwrap().push(request.clone());
    }
    if cfg.renders_stall && is_get_renders(kind, &buf[start..start + len]) {
        st.stalled.fetch_add(1, Ordering::SeqCst);
        return stop.cancelled().await;
    }
    let reply = match cfg.scripted.get(&request) {
        Some(r) => r.clone(),
        None => match answer(kind, &buf[start..start + len], st, cfg) {
            Some(r) => r,
            None => {
                stop.cancel(); // "segfault"
                return;
            }
        },
    };
    let mut out = reply;
    out.push(b' '); // a stray space in the same write, as afserver does
    if s.write_all(&out).await.is_err() {
        return;
    }
    // Never close first: wait for the client (afserver drops lingering sockets after ~12 s).
    let _ = tokio::time::timeout(Duration::from_secs(12), async {
        while matches!(s.read(&mut chunk).await, Ok(n) if n > 0) {}
    })
    .await;
}

fn is_get_renders(kind: Kind, body: &[u8]) -> bool {
    kind.is_json()
        && afserver_read::json_body(body)
            .is_ok_and(|v| v.get("get").is_some_and(|g| g["type"] == "renders"))
}

/// The reply to one request, or None when the request crashes afserver 3.4.1.
fn answer(kind: Kind, body: &[u8], st: &State, cfg: &FakeConfig) -> Option<Vec<u8>> {
    match kind {
        Kind::Get => {
            let page = b"<html>afanasy</html>";
            let head = format!("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n", page.len());
            return Some([head.as_bytes(), page].concat());
        }
        Kind::Invalid => {
            let info = br#"{"info":{"kind":"error","text":"TInvalid message received."}}"#;
            return Some(framed(Kind::Text, info));
        }
        Kind::Binary(v, _) if v != 81 => return Some(binary(81, 1, 1, b"")),
        k if !k.is_json() => return Some(binary(81, 8, 4, b"")),
        _ => {}
    }
    let json = match afserver_read::json_body(body) {
        Err(e) => {
            format!(r#"{{"info":{{"kind":"error","text":"JSON parse error: {e}"}}}}"#).into_bytes()
        }
        Ok(v) => json_answer(&v, st, cfg)?,
    };
    Some(framed(kind, &json))
}

fn json_answer(v: &serde_json::Value, st: &State, cfg: &FakeConfig) -> Option<Vec<u8>> {
    if let Some(get) = v.get("get").filter(|g| g.is_object()) {
        if get["type"] == "renders" {
            if get["mode"] == "resources" {
                return Some(st.renders.resources(&cfg.renders));
            }
            let list = || st.renders.list(&cfg.renders, &cfg.render_users);
            return Some(cfg.renders_reply.clone().unwrap_or_else(list));
        }
        if get["type"] == "users" {
            return Some(users_body(cfg, &st.kept.lock().unwrap()));
        }
        if get["type"] == "jobs" {
            let ids: Option<Vec<i64>> = get["ids"]
                .as_array()
                .map(|a| a.iter().filter_map(serde_json::Value::as_i64).collect());
            return Some(st.kept.lock().unwrap().list(ids.as_deref()));
        }
        return Some(br#"{"info":{"kind":"error","text":"Invalid get type."}}"#.to_vec());
    }
    if let Some(action) = v.get("action") {
        if action["type"] == "jobs" {
            let reply = st.kept.lock().unwrap().action(action);
            st.actions.send_modify(|n| *n += 1);
            return Some(reply);
        }
        return Some(br#"{"info":{"kind":"log","text":"Action processed."}}"#.to_vec());
    }
    let Some(job) = v.get("job") else {
        return Some(br#"{"info":{"kind":"error","text":"Invalid action."}}"#.to_vec());
    };
    if crashes_afserver(job) {
        st.crashed.store(true, Ordering::SeqCst);
        return None;
    }
    let (id, serial) = st.kept.lock().unwrap().add(job);
    st.actions.send_modify(|n| *n += 1);
    if !cfg.quiet {
        st.jobs.lock().unwrap().push(job.clone());
    }
    Some(format!("{{\n\"id\":{id},\n\"serial\":{serial}\n}}").into_bytes())
}

/// What makes the real afserver 3.4.1 crash (mostly by dereferencing a NULL job): the rules of
/// `afserver_rules.rs`, read from afserver's source independently of afpool's shield.
fn crashes_afserver(job: &serde_json::Value) -> bool {
    #[path = "afserver_rules.rs"]
    mod afserver_rules;
    afserver_rules::crashes(job)
}

/// The user list as afserver 3.4 writes it: the configured users (with their host-mask type)
/// and every user with jobs, each with its `jobs_num` when it has jobs.
fn users_body(cfg: &FakeConfig, kept: &FakeJobs) -> Vec<u8> {
    let mut jobs = kept.jobs_per_user();
    let mut users: Vec<(String, &str)> = (cfg.users.iter())
        .map(|(name, kind)| (name.clone(), kind.as_str()))
        .collect();
    let known: Vec<String> = users.iter().map(|(n, _)| n.clone()).collect();
    users.extend((jobs.keys().filter(|n| !known.contains(n))).map(|n| (n.clone(), "find")));
    let items: Vec<String> = (users.iter().enumerate())
        .map(|(i, (name, kind))| {
            let num = jobs
                .remove(name)
                .map_or(String::new(), |n| format!(r#","jobs_num":{n}"#));
            let id = i + 1;
            format!(r#"{{"name":"{name}","id":{id},"hosts_mask_type":"{kind}"{num}}}"#)
        })
        .collect();
    format!(r#"{{"users":[{}]}}"#, items.join(",")).into_bytes()
}

fn framed(kind: Kind, json: &[u8]) -> Vec<u8> {
    match kind {
        Kind::Text | Kind::Invalid => {
            [format!("AFANASY {} JSON", json.len()).as_bytes(), json].concat()
        }
        Kind::Http | Kind::Get => {
            let head = format!("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\nContent-Type: application/json\r\nCache-Control: max-age=0\r\nServer: afanasy/3.4.1\r\n\r\n", json.len());
            [head.as_bytes(), json].concat()
        }
        Kind::Binary(v, _) => binary(v, 24, json.len() as i32, json),
    }
}

fn binary(version: i32, mtype: i32, value: i32, body: &[u8]) -> Vec<u8> {
    [
        &version.to_be_bytes()[..],
        &mtype.to_be_bytes(),
        &value.to_be_bytes(),
        body,
    ]
    .concat()
}
