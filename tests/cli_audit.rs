//! `afpool audit` and the auditing of `afpool pool` end to end: runs the built binary against a
//! file store in a temp dir per test, with `audit.jsonl` beside `pools.json`.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{json, Value};

/// A temp dir with an isolated environment for the binary.
struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Cli {
        Cli {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn audit_path(&self) -> PathBuf {
        self.dir.path().join("audit.jsonl")
    }

    /// `afpool --store file:<tmp>/pools.json ARGS...` run as OS user `user` (`None`: unset).
    fn run_as(&self, user: Option<&str>, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_afpool"));
        cmd.current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env("RUST_LOG", "off")
            .env_remove("LOGNAME")
            .env_remove("AFPOOL_CONFIG")
            .env_remove("AFPOOL_LEGACY_CONFIG")
            .env_remove("AFPOOL_HOME")
            .env_remove("XDG_DATA_HOME")
            .env(
                "AFPOOL_STORE",
                format!("file:{}", self.dir.path().join("pools.json").display()),
            );
        match user {
            Some(user) => cmd.env("USER", user),
            None => cmd.env_remove("USER"),
        };
        cmd.args(args).output().expect("run afpool")
    }

    /// Runs as `ann` and expects success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run_as(Some("ann"), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?} failed: {stderr}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// `afpool audit --json ARGS...`, parsed.
    fn entries(&self, args: &[&str]) -> Vec<Value> {
        let out = self.ok(&[&["audit", "--json"], args].concat());
        let line = |l: &str| serde_json::from_str(l).expect("a JSON line");
        out.lines().map(line).collect()
    }

    /// Appends a raw entry `age_hours` old to the log, as another afpool would.
    fn seed(&self, age_hours: i64, mut entry: Value) {
        let now = bson::DateTime::now().timestamp_millis();
        let at = bson::DateTime::from_millis(now - age_hours * 3_600_000);
        entry["at"] = json!(at.try_to_rfc3339_string().unwrap());
        let mut text = std::fs::read_to_string(self.audit_path()).unwrap_or_default();
        text += &(entry.to_string() + "\n");
        std::fs::write(self.audit_path(), text).unwrap();
    }
}

/// The fields of an entry a test can predict (not `at`).
fn summary(entry: &Value) -> Value {
    let mut entry = entry.clone();
    let at = entry.as_object_mut().unwrap().remove("at").unwrap();
    assert!(
        bson::DateTime::parse_rfc3339_str(at.as_str().unwrap()).is_ok(),
        "{at}"
    );
    entry
}

#[test]
fn every_pool_change_is_audited_with_who_and_hosts() {
    let cli = Cli::new();
    cli.ok(&["pool", "create", "comp", "pc-1"]);
    cli.ok(&["pool", "add", "comp", "pc-2"]);
    cli.ok(&["pool", "remove", "comp", "PC-1"]);
    cli.ok(&["pool", "rename", "comp", "compositing"]);
    cli.ok(&["pool", "list"]);
    let out = cli.run_as(None, &["pool", "delete", "compositing"]);
    assert!(out.status.success());
    let entries: Vec<Value> = cli.entries(&[]).iter().map(summary).collect();
    let hosts = |h: &[&str]| json!(h);
    assert_eq!(
        entries,
        [
            json!({"who": "ann", "kind": "pool_created", "pool": "comp", "after": hosts(&["pc-1"]),
                "detail": "created pool 'comp' with 1 host"}),
            json!({"who": "ann", "kind": "hosts_added", "pool": "comp",
                "before": hosts(&["pc-1"]), "after": hosts(&["pc-1", "pc-2"]),
                "detail": "added 1 host to pool 'comp': pc-2; now 2 hosts"}),
            json!({"who": "ann", "kind": "hosts_removed", "pool": "comp",
                "before": hosts(&["pc-1", "pc-2"]), "after": hosts(&["pc-2"]),
                "detail": "removed 1 host from pool 'comp': pc-1; now 1 host"}),
            json!({"who": "ann", "kind": "pool_renamed", "pool": "comp",
                "before": {"name": "comp"}, "after": {"name": "compositing"},
                "detail": "renamed pool 'comp' to 'compositing'"}),
            json!({"who": "unknown", "kind": "pool_deleted", "pool": "compositing",
                "before": hosts(&["pc-2"]), "detail": "deleted pool 'compositing'"}),
        ]
    );
    // A failed change is not audited.
    let failed = cli.run_as(Some("ann"), &["pool", "add", "nope", "pc-1"]);
    assert_eq!(failed.status.code(), Some(1));
    assert_eq!(cli.entries(&[]).len(), 5);
    // A rename shows under both names.
    assert_eq!(cli.entries(&["--pool", "comp"]).len(), 4);
    assert_eq!(cli.entries(&["--pool", "compositing"]).len(), 2);
}

#[test]
fn filters_by_age_pool_and_job() {
    let cli = Cli::new();
    let routed = |job: i64, pool: &str| json!({"who": "proxy", "kind": "job_routed", "pool": pool, "job_id": job, "detail": "r"});
    cli.seed(24 * 100, routed(1, "gpu")); // past the default 90 days
    cli.seed(48, routed(2, "gpu"));
    cli.seed(3, routed(3, "cpu"));
    cli.ok(&["pool", "create", "gpu"]);
    let jobs = |entries: Vec<Value>| -> Vec<Value> {
        entries.iter().map(|e| e["job_id"].clone()).collect()
    };
    assert_eq!(jobs(cli.entries(&[])), [json!(2), json!(3), Value::Null]);
    assert_eq!(
        jobs(cli.entries(&["--since", "1d"])),
        [json!(3), Value::Null]
    );
    assert_eq!(jobs(cli.entries(&["--since", "30m"])), [Value::Null]);
    assert_eq!(
        jobs(cli.entries(&["--pool", "gpu"])),
        [json!(2), Value::Null]
    );
    assert_eq!(jobs(cli.entries(&["--job", "3"])), [json!(3)]);
    assert_eq!(cli.entries(&["--job", "1"]), Vec::<Value>::new());
    let table = cli.ok(&["audit", "--pool", "cpu"]);
    let mut lines = table.lines();
    assert!(lines.next().unwrap().starts_with("AT "), "{table}");
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(row[1..], ["proxy", "job_routed", "cpu", "3", "r"]);
    assert_eq!(cli.ok(&["audit", "--job", "9"]), "no audit entries match\n");
    // audit_keep_days from the config file bounds what is shown.
    let config = cli.dir.path().join("afpool.toml");
    std::fs::write(&config, "audit_keep_days = 1\n").unwrap();
    let config = config.display().to_string();
    assert_eq!(
        jobs(cli.entries(&["--config", &config])),
        [json!(3), Value::Null]
    );
}

#[test]
fn bad_durations_and_broken_logs_say_so() {
    let cli = Cli::new();
    let out = cli.run_as(Some("ann"), &["audit", "--since", "3y"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("use s, m, h, d or w"));
    // An unwritable log does not undo or fail a pool change, but says it was not audited.
    std::fs::create_dir(cli.audit_path()).unwrap();
    let out = cli.run_as(Some("ann"), &["pool", "create", "gpu"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not audited"));
    assert!(cli.ok(&["pool", "list"]).contains("gpu"));
    // An unreadable log is "unavailable": exit code 2.
    let out = cli.run_as(Some("ann"), &["audit"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
