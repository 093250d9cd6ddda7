//! `afsubmit` and `afpool explain` as built binaries, against the fake afserver on 127.0.0.1:0 and a
//! file store in a temp dir per test: submission with routing, the policies, the shield, bad
//! files, stdin, `--via-proxy`, `--dry-run` and `afpool explain`.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{farm, full_match, FakeAfserver};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

const AFSUBMIT: &str = env!("CARGO_BIN_EXE_afsubmit");
const AFPOOL: &str = env!("CARGO_BIN_EXE_afpool");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/submit");

/// What a finished process left.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Run `bin` with `args` (and `stdin`), isolated from the caller's CGRU and afpool settings.
async fn run(bin: &str, args: &[String], stdin: Option<&[u8]>) -> Run {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, _) in std::env::vars() {
        if key.starts_with("CGRU_") || key.starts_with("AFPOOL_") {
            cmd.env_remove(key);
        }
    }
    let mut child = cmd.kill_on_drop(true).spawn().expect("the binary starts");
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).await.unwrap();
    }
    drop(input);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("finished within 30 s")
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: text(out.stdout),
        stderr: text(out.stderr),
    }
}

/// A fake afserver with the standard farm, and a store holding pool `gpu` = gpu.node3 + gpu01.
struct Setup {
    fake: FakeAfserver,
    _dir: tempfile::TempDir,
    store: String,
}

impl Setup {
    async fn new() -> Setup {
        let fake = FakeAfserver::start(farm()).await;
        let dir = tempfile::tempdir().unwrap();
        let store = format!("file:{}", dir.path().join("pools.json").display());
        let create = format!("--store {store} pool create gpu gpu.node3 gpu01");
        let created = run(AFPOOL, &words(&create), None).await;
        assert_eq!(created.code, 0, "{}", created.stderr);
        Setup {
            fake,
            _dir: dir,
            store,
        }
    }

    /// afsubmit against the fake and the store; `args` split on spaces, `x.json` = a fixture.
    async fn submit(&self, args: &str) -> Run {
        self.submit_stdin(args, None).await
    }

    async fn submit_stdin(&self, args: &str, stdin: Option<&[u8]>) -> Run {
        let all = format!("--server {} --store {} {args}", self.fake.addr, self.store);
        run(AFSUBMIT, &words(&all), stdin).await
    }

    /// Requests other than the render list.
    fn job_requests(&self) -> usize {
        self.fake
            .requests()
            .iter()
            .filter(|r| !contains(r, br#"{"get":{"type":"renders"}}"#))
            .count()
    }
}

/// Arguments split on spaces; `name.json` becomes its path in fixtures/submit.
fn words(args: &str) -> Vec<String> {
    let fixture = |a: &str| match a.ends_with(".json") && !a.contains('/') {
        true => format!("{FIXTURES}/{a}"),
        false => a.to_string(),
    };
    args.split_whitespace().map(fixture).collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn fixture_job(name: &str) -> Value {
    let v: Value =
        serde_json::from_slice(&std::fs::read(format!("{FIXTURES}/{name}")).unwrap()).unwrap();
    v.get("job").cloned().unwrap_or(v)
}

#[tokio::test]
async fn routes_into_the_pool_and_sends_the_rewritten_job() {
    let s = Setup::new().await;
    let r = s.submit("--pool gpu bare.json").await;
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .ends_with("bare.json: job id 1 (pool gpu, 4 hosts excluded)\n"),
        "{}",
        r.stdout
    );
    let jobs = s.fake.jobs();
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert!(job.get("pool").is_none(), "the pool key is removed: {job}");
    assert_eq!(job["hosts_mask_type"], "regex");
    let exclude = job["hosts_mask_exclude"].as_str().unwrap();
    assert_eq!(exclude, "(?!(?:gpu[.]node3|gpu01)$).*");
    for outside in ["render01", "render02", "r1", "r10", "gpu02", "new-render"] {
        assert!(full_match(exclude, outside), "{outside}: {exclude}");
    }
    assert!(!full_match(exclude, "gpu01") && !full_match(exclude, "gpu.node3"));
    assert_eq!(job["blocks"], fixture_job("bare.json")["blocks"]);
}

#[tokio::test]
async fn the_jobs_own_pool_reference_is_used_without_pool_flag() {
    let s = Setup::new().await;
    let r = s.submit("--json envelope-custom-data.json").await;
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let line: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let fields = (
        &line["ok"],
        &line["id"],
        &line["pool"],
        &line["verdict"],
        &line["error"],
    );
    assert_eq!(
        fields,
        (
            &json!(true),
            &json!(1),
            &json!("gpu"),
            &json!("routed"),
            &Value::Null
        )
    );
    let exclude = s.fake.jobs()[0]["hosts_mask_exclude"].clone();
    assert!(
        full_match(exclude.as_str().unwrap(), "render01"),
        "{exclude}"
    );
}

#[tokio::test]
async fn an_unknown_pool_is_held_by_default() {
    let s = Setup::new().await;
    let r = s.submit("--pool nosuch bare.json").await;
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("job id 1 (held: "), "{}", r.stdout);
    let jobs = s.fake.jobs();
    assert_eq!(jobs[0]["offline"], true, "{}", jobs[0]);
    assert!(jobs[0].get("pool").is_none());
}

#[tokio::test]
async fn an_unknown_pool_is_refused_under_reject_and_nothing_is_sent() {
    let s = Setup::new().await;
    let r = s
        .submit("--on-unknown-pool reject --pool nosuch bare.json")
        .await;
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .starts_with(&format!("{FIXTURES}/bare.json: afpool: ")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("nosuch"), "{}", r.stdout);
    assert_eq!(s.job_requests(), 0);
}

#[tokio::test]
async fn an_unknown_pool_passes_unrouted_under_pass() {
    let s = Setup::new().await;
    let r = s
        .submit("--on-unknown-pool pass --pool nosuch --json bare.json")
        .await;
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let line: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(line["verdict"], "passed");
    let job = &s.fake.jobs()[0];
    assert!(
        job.get("pool").is_none() && job.get("hosts_mask_exclude").is_none(),
        "{job}"
    );
    assert_ne!(job["offline"], true);
}

#[tokio::test]
async fn invalid_json_names_the_file_line_and_column() {
    let s = Setup::new().await;
    let r = s.submit("invalid.json").await;
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("invalid.json: invalid JSON at line 4, column 3"),
        "{}",
        r.stdout
    );
    assert_eq!(s.job_requests(), 0);
}

#[tokio::test]
async fn a_job_that_would_crash_afserver_is_refused_here() {
    let s = Setup::new().await;
    let r = s.submit("--pool gpu no-blocks.json").await;
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("no-blocks.json: afpool: "),
        "{}",
        r.stdout
    );
    assert!(!s.fake.crashed());
    assert_eq!(s.job_requests(), 0);
}

#[tokio::test]
async fn other_files_go_on_when_one_fails() {
    let s = Setup::new().await;
    let r = s
        .submit("--pool gpu bare.json invalid.json envelope-custom-data.json")
        .await;
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", r.stdout);
    assert!(lines[0].ends_with("job id 1 (pool gpu, 4 hosts excluded)"));
    assert!(lines[1].contains("invalid JSON"));
    assert!(lines[2].ends_with("job id 2 (pool gpu, 4 hosts excluded)"));
    assert_eq!(s.fake.jobs().len(), 2);
    assert!(r.stderr.contains("1 of 3 job files failed"), "{}", r.stderr);
}

#[tokio::test]
async fn reads_a_job_from_stdin() {
    let s = Setup::new().await;
    let job = std::fs::read(format!("{FIXTURES}/bare.json")).unwrap();
    let r = s.submit_stdin("--pool gpu -", Some(&job)).await;
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stdout, "-: job id 1 (pool gpu, 4 hosts excluded)\n");
    assert_eq!(s.fake.jobs()[0]["name"], "shot010_comp");
}

#[tokio::test]
async fn via_proxy_only_sets_the_pool() {
    let fake = FakeAfserver::start(farm()).await;
    let args = format!("--via-proxy --server {} --pool gpu bare.json", fake.addr);
    let r = run(AFSUBMIT, &words(&args), None).await;
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.ends_with("job id 1 (via proxy, pool gpu)\n"),
        "{}",
        r.stdout
    );
    assert_eq!(fake.requests().len(), 1, "no render list, no store");
    let mut expected = fixture_job("bare.json");
    expected["pool"] = "gpu".into();
    assert_eq!(fake.jobs(), [expected]);
}

#[tokio::test]
async fn dry_run_explains_and_sends_nothing() {
    let s = Setup::new().await;
    let r = s.submit("--dry-run --pool gpu bare.json").await;
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(s.fake.requests().len(), 1, "only the render list");
    assert_eq!(s.job_requests(), 0);
    let needed = [
        "'gpu' (from the job's \"pool\" key)",
        "pool hosts:     gpu.node3, gpu01",
        "can run on:     gpu.node3 (online)",
        "render02 (offline)",
        "verdict:        routed",
        "\"hosts_mask_type\": \"regex\"",
    ];
    for needed in needed {
        assert!(
            r.stdout.contains(needed),
            "{needed} missing in:\n{}",
            r.stdout
        );
    }
}

#[tokio::test]
async fn dry_run_json_and_reject_explained() {
    let s = Setup::new().await;
    let args = "--dry-run --json --on-unknown-pool reject --pool nosuch";
    let r = s
        .submit(&format!("{args} bare.json envelope-custom-data.json"))
        .await;
    assert_eq!(
        r.code, 1,
        "the rejected one fails: {}{}",
        r.stdout, r.stderr
    );
    let lines: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        (&lines[0]["verdict"], &lines[0]["ok"]),
        (&json!("rejected"), &json!(false))
    );
    assert!(lines[0]["job"].is_null());
    assert_eq!(lines[1]["pool"], "nosuch", "--pool overrides custom_data");
    assert_eq!(s.job_requests(), 0);
}

#[tokio::test]
async fn dry_run_without_afserver_explains_with_pool_hosts() {
    let s = Setup::new().await;
    let closed = closed_port().await;
    let args = format!(
        "--server {closed} --store {} --dry-run --json --pool gpu bare.json",
        s.store
    );
    let r = run(AFSUBMIT, &words(&args), None).await;
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains(&format!("cannot reach afserver at {closed}")),
        "{}",
        r.stderr
    );
    let line: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(line["explain"]["pool_hosts"], json!(["gpu.node3", "gpu01"]));
}

#[tokio::test]
async fn afserver_down_fails_every_file_with_exit_2() {
    let s = Setup::new().await;
    let closed = closed_port().await;
    let files = "bare.json envelope-custom-data.json";
    let args = format!("--server {closed} --store {} --pool gpu {files}", s.store);
    let r = run(AFSUBMIT, &words(&args), None).await;
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let unreachable = format!("cannot reach afserver at {closed}");
    assert_eq!(r.stdout.matches(&unreachable).count(), 2, "{}", r.stdout);
}

#[tokio::test]
async fn afpool_explain_is_the_same_explanation() {
    let s = Setup::new().await;
    let args = format!(
        "--store {} explain --server {} --pool gpu bare.json",
        s.store, s.fake.addr
    );
    let r = run(AFPOOL, &words(&args), None).await;
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("verdict:        routed"), "{}", r.stdout);
    assert!(r.stdout.contains("gpu.node3, gpu01"), "{}", r.stdout);
    assert_eq!(s.job_requests(), 0);
}

/// An address nothing listens on.
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    addr
}

#[tokio::test]
async fn dry_run_explains_a_pool_expression() {
    let s = Setup::new().await;
    let create = format!("--store {} pool create old gpu01", s.store);
    assert_eq!(run(AFPOOL, &words(&create), None).await.code, 0);
    let r = s.submit("--dry-run --pool gpu&!old bare.json").await;
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    for needed in [
        "'gpu&!old' (from the job's \"pool\" key)",
        "pool hosts:     gpu.node3\n",
        "verdict:        routed",
    ] {
        assert!(
            r.stdout.contains(needed),
            "{needed} missing in:\n{}",
            r.stdout
        );
    }
    assert_eq!(s.job_requests(), 0);
}
