//! A password planted in the pool store URI, given as `AFPOOL_STORE`, as `--store` or in the config
//! file, never shows: not in `--help`, not in the error of a command whose MongoDB is unreachable
//! (a closed port on 127.0.0.1), not in `afpool serve`'s logs. Written percent-encoded as it
//! should be, and unencoded in the ways people write it (`/`, `@`, `?` inside the password).

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

const AFPOOL: &str = env!("CARGO_BIN_EXE_afpool");
const AFSUBMIT: &str = env!("CARGO_BIN_EXE_afsubmit");

/// The planted password; its two halves are searched for separately.
const PASSWORD: &str = "Planted-s3cret";

/// True when `text` shows the password or a piece of it.
fn leaks(text: &str) -> bool {
    ["Planted", "s3cret"]
        .iter()
        .any(|piece| text.contains(piece))
}

/// Where the store URI comes from.
#[derive(Debug, Clone, Copy)]
enum Source {
    Env,
    Flag,
    ConfigFile,
}

const SOURCES: [Source; 3] = [Source::Env, Source::Flag, Source::ConfigFile];

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    common::free_addr().port()
}

/// Store URIs that hold the password, the first one percent-encoded as MongoDB wants it.
fn uris(port: u16) -> Vec<String> {
    let fast = "serverSelectionTimeoutMS=300&connectTimeoutMS=300";
    vec![
        format!("mongodb://afpool:{PASSWORD}@127.0.0.1:{port}/admin?{fast}"),
        format!("mongodb://afpool:{PASSWORD}%2Fx@127.0.0.1:{port}/?{fast}"),
        format!("mongodb://afpool:{PASSWORD}/x@127.0.0.1:{port}/db?{fast}"),
        format!("mongodb://afpool:p@{PASSWORD}@127.0.0.1:{port}/?{fast}"),
        format!("mongodb://afpool:{PASSWORD}?x@127.0.0.1:{port}/?{fast}"),
        format!("mongodb://127.0.0.1:{port}/?{fast}&tlsCertificateKeyFilePassword={PASSWORD}"),
    ]
}

/// `program` with a clean environment and the store URI given by `source` (through
/// `<dir>/afpool.toml` for the config file).
fn command(program: &str, dir: &Path, source: Source, uri: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(program);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("AFPOOL_LOG", "debug")
        .current_dir(dir);
    match source {
        Source::Env => {
            cmd.env("AFPOOL_STORE", uri);
        }
        Source::Flag => {
            cmd.args(["--store", uri]);
        }
        Source::ConfigFile => {
            let config = dir.join("afpool.toml");
            std::fs::write(&config, format!("store = {}\n", toml_string(uri))).unwrap();
            cmd.arg("--config").arg(config);
        }
    }
    cmd
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn help_never_prints_the_store_variable() {
    let dir = tempfile::tempdir().unwrap();
    let uri = &uris(closed_port())[0];
    let helps: [(&str, &[&str]); 6] = [
        (AFPOOL, &["--help"]),
        (AFPOOL, &["-h"]),
        (AFPOOL, &["serve", "--help"]),
        (AFPOOL, &["pool", "list", "--help"]),
        (AFPOOL, &["explain", "--help"]),
        (AFSUBMIT, &["--help"]),
    ];
    for (program, args) in helps {
        let out = command(program, dir.path(), Source::Env, uri)
            .args(args)
            .output()
            .unwrap();
        let text = output_text(&out);
        assert!(out.status.success(), "{args:?}: {text}");
        assert!(text.contains("AFPOOL_STORE"), "{args:?}: {text}");
        assert!(
            !leaks(&text),
            "{program} {args:?} shows the password:\n{text}"
        );
    }
}

#[test]
fn errors_of_an_unreachable_store_never_show_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    for source in SOURCES {
        for uri in uris(port) {
            let out = command(AFPOOL, dir.path(), source, &uri)
                .args(["pool", "list"])
                .output()
                .unwrap();
            let text = output_text(&out);
            assert_eq!(out.status.code(), Some(2), "{source:?} {uri}: {text}");
            assert!(text.contains("unavailable"), "{source:?} {uri}: {text}");
            assert!(
                !leaks(&text),
                "{source:?} {uri} shows the password:\n{text}"
            );
        }
    }
    let encoded = &uris(port)[0];
    let out = command(AFPOOL, dir.path(), Source::Env, encoded)
        .args(["pool", "list"])
        .output()
        .unwrap();
    let text = output_text(&out);
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
}

#[test]
fn afsubmit_errors_never_show_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("job.json");
    std::fs::write(&job, r#"{"job": {"name": "j", "blocks": []}}"#).unwrap();
    for uri in uris(closed_port()) {
        let out = command(AFSUBMIT, dir.path(), Source::Env, &uri)
            .args(["--dry-run", "--pool", "gpu"])
            .arg(&job)
            .output()
            .unwrap();
        let text = output_text(&out);
        assert!(!out.status.success(), "{uri}: {text}");
        assert!(!leaks(&text), "{uri} shows the password:\n{text}");
    }
}

/// Runs `afpool serve` until it serves, stops it with SIGTERM, and returns its whole log.
async fn serve_log(dir: &Path, source: Source, uri: &str, upstream: &str) -> String {
    let mut cmd = tokio::process::Command::from(command(AFPOOL, dir, source, uri));
    let mut child = cmd
        .args(["serve", "--listen", "127.0.0.1:0", "--upstream", upstream])
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    let serving = tokio::time::timeout(Duration::from_secs(30), async {
        while stderr.read_line(&mut log).await.unwrap() > 0 {
            if log.contains("afpool serving") {
                return;
            }
        }
        panic!("afpool serve exited:\n{log}");
    });
    serving.await.expect("afpool serve starts within 30 s");
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    assert!(killed.unwrap().success());
    tokio::time::timeout(Duration::from_secs(30), stderr.read_to_string(&mut log))
        .await
        .expect("afpool serve stops on SIGTERM")
        .unwrap();
    log
}

#[tokio::test]
async fn serve_logs_never_show_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let fake = common::FakeAfserver::start(common::farm()).await;
    let port = closed_port();
    let encoded = &uris(port)[0];
    for source in SOURCES {
        let log = serve_log(dir.path(), source, encoded, &fake.addr.to_string()).await;
        assert!(log.contains("pool store unreachable"), "{source:?}: {log}");
        assert!(
            log.contains(&format!("127.0.0.1:{port}")),
            "{source:?}: {log}"
        );
        assert!(
            !leaks(&log),
            "{source:?}: the log shows the password:\n{log}"
        );
    }
}
