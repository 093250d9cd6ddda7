//! `afpool pool ...` end to end: runs the built binary against a file store in a temp dir per
//! test and checks its output, its JSON and its exit codes (1 user error, 2 store unavailable).

use std::path::{Path, PathBuf};
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

    fn store_path(&self) -> PathBuf {
        self.dir.path().join("pools.json")
    }

    /// A command with no afpool settings leaking in from the caller's environment.
    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_afpool"));
        cmd.current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env("RUST_LOG", "off");
        for var in [
            "AFPOOL_STORE",
            "AFPOOL_CONFIG",
            "AFPOOL_LEGACY_CONFIG",
            "AFPOOL_HOME",
        ] {
            cmd.env_remove(var);
        }
        cmd.env_remove("XDG_DATA_HOME");
        cmd
    }

    /// Runs `afpool pool --store file:<tmp>/pools.json ARGS...`.
    fn pool(&self, args: &[&str]) -> Output {
        let store = format!("file:{}", self.store_path().display());
        let mut cmd = self.command();
        cmd.args(["pool", "--store", &store]).args(args);
        cmd.output().expect("run afpool")
    }

    /// Runs it and expects success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.pool(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Runs it and expects failure with `code`; returns stderr.
    fn fails(&self, code: i32, args: &[&str]) -> String {
        let out = self.pool(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&out.stderr)
        );
        text(&out.stderr)
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).expect("valid JSON")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn manage_pools_end_to_end() {
    let cli = Cli::new();
    assert!(cli.ok(&["list"]).contains("no pools yet"));
    assert_eq!(cli.json(&["list", "--json"]), json!([]));

    let out = cli.ok(&["create", "lighting", "render-01", "RENDER-01", "render-02"]);
    assert_eq!(out, "created pool 'lighting' with 2 hosts\n");
    cli.ok(&["create", "comp"]);
    let out = cli.ok(&["add", "comp", "pc-1", "pc-2", "PC-2"]);
    assert_eq!(
        out,
        "added 2 hosts to pool 'comp': pc-1 pc-2; now 2 hosts\n"
    );
    let out = cli.ok(&["add", "comp", "PC-1", "pc-3"]);
    assert_eq!(
        out,
        "added 1 host to pool 'comp': pc-3 (already members: PC-1); now 3 hosts\n"
    );

    let table = cli.ok(&["list"]);
    let expected = "\
NAME      HOSTS  MEMBERS
comp      3      pc-1 pc-2 pc-3
lighting  2      render-01 render-02
";
    assert_eq!(table, expected);
    assert_eq!(
        cli.json(&["show", "comp", "--json"]),
        json!({"name": "comp", "hosts": ["pc-1", "pc-2", "pc-3"]})
    );
    assert!(cli.ok(&["show", "comp"]).contains("  pc-3\n"));

    let out = cli.ok(&["remove", "comp", "PC-2", "nope"]);
    assert_eq!(
        out,
        "removed 1 host from pool 'comp': pc-2 (not members: nope); now 2 hosts\n"
    );
    assert_eq!(
        cli.ok(&["rename", "comp", "compositing"]),
        "renamed pool 'comp' to 'compositing'\n"
    );
    assert_eq!(cli.ok(&["delete", "lighting"]), "deleted pool 'lighting'\n");
    assert_eq!(
        cli.json(&["list", "--json"]),
        json!([{"name": "compositing", "hosts": ["pc-1", "pc-3"]}])
    );
    assert_legacy_shape(&cli.store_path());
}

/// The file holds legacy-shaped documents with all four client keys.
fn assert_legacy_shape(path: &Path) {
    let raw: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let client = &raw["pools"][0]["clients"][0];
    assert_eq!(
        client,
        &json!({"hostname": "pc-1", "engine": "", "ip": "", "port": ""})
    );
}

#[test]
fn user_errors_exit_1() {
    let cli = Cli::new();
    cli.ok(&["create", "a", "h1"]);
    cli.ok(&["create", "b"]);
    assert!(cli
        .fails(1, &["show", "nope"])
        .contains("no pool named 'nope'"));
    assert!(cli.fails(1, &["create", "a"]).contains("already exists"));
    assert!(cli
        .fails(1, &["create", "x|y"])
        .contains("invalid pool name"));
    assert!(cli
        .fails(1, &["create", "Don't use pool."])
        .contains("invalid pool name"));
    assert!(cli
        .fails(1, &["add", "a", "bad host"])
        .contains("invalid host name"));
    assert!(cli
        .fails(1, &["rename", "a", "b"])
        .contains("already exists"));
    assert!(cli.fails(1, &["delete", "nope"]).contains("no pool named"));
    assert_eq!(
        cli.json(&["show", "a", "--json"]),
        json!({"name": "a", "hosts": ["h1"]})
    );
}

#[test]
fn add_and_remove_need_hosts() {
    let cli = Cli::new();
    cli.ok(&["create", "a"]);
    assert!(!cli.pool(&["add", "a"]).status.success());
    assert!(!cli.pool(&["remove", "a"]).status.success());
}

#[test]
fn unreachable_mongodb_exits_2() {
    let cli = Cli::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = cli.command();
    cmd.args([
        "pool",
        "--store",
        &format!("mongodb://127.0.0.1:{port}/"),
        "list",
    ]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("unavailable"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn store_comes_from_env_and_defaults_to_afpool_home() {
    let cli = Cli::new();
    let from_env = cli.dir.path().join("env.json");
    let status = cli
        .command()
        .env("AFPOOL_STORE", format!("file:{}", from_env.display()))
        .args(["pool", "create", "via-env"])
        .output()
        .unwrap()
        .status;
    assert!(status.success());
    assert!(from_env.exists());

    let home = cli.dir.path().join("home");
    let status = cli
        .command()
        .env("AFPOOL_HOME", &home)
        .args(["pool", "create", "via-default"])
        .output()
        .unwrap()
        .status;
    assert!(status.success());
    assert!(home.join("pools.json").exists());
}

#[test]
fn help_teaches_usage() {
    let out = Cli::new()
        .command()
        .args(["pool", "add", "--help"])
        .output()
        .unwrap();
    let help = text(&out.stdout);
    assert!(help.contains("already in it"), "{help}");
    assert!(help.contains("afpool pool add lighting"), "{help}");
}

/// The first write creates `pools.json` and its lock file like any new file, so with the usual
/// umask 022 an afpool running as another user can read them (0644); the umask still rules.
#[cfg(unix)]
#[test]
fn first_write_creates_files_readable_by_other_users() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for (umask, expected) in [("022", 0o644), ("002", 0o664), ("077", 0o600)] {
        let cli = Cli::new();
        let store = format!("file:{}", cli.store_path().display());
        let mut sh = std::process::Command::new("sh");
        sh.current_dir(cli.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .args(["-c", &format!("umask {umask} && exec \"$0\" \"$@\"")])
            .arg(env!("CARGO_BIN_EXE_afpool"))
            .args(["pool", "--store", &store, "create", "gpu", "gpu01"]);
        let out = sh.output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let lock = cli.dir.path().join("pools.json.lock");
        assert_eq!(mode(&cli.store_path()), expected, "umask {umask}");
        assert_eq!(mode(&lock), expected, "umask {umask}: lock file");
    }
}

#[test]
fn spill_over_is_set_shown_refused_and_cleared() {
    let cli = Cli::new();
    cli.ok(&["create", "gpu", "g1"]);
    let said = cli.ok(&[
        "set",
        "gpu",
        "--fallback",
        "cpu,cloud",
        "--spill-below",
        "2",
        "--spill-after",
        "30m",
    ]);
    assert!(said.contains("spills into cpu, then cloud"), "{said}");
    assert_eq!(
        cli.json(&["show", "gpu", "--json"]),
        json!({"name": "gpu", "hosts": ["g1"], "fallback": ["cpu", "cloud"],
            "spill_below": 2, "spill_after": "30m"})
    );
    assert!(cli
        .ok(&["show", "gpu"])
        .contains("spill    spills into cpu, then cloud"));
    // One setting changes, the others stay.
    cli.ok(&["set", "gpu", "--spill-after", "1h"]);
    let shown = cli.json(&["show", "gpu", "--json"]);
    assert_eq!(
        (&shown["spill_below"], &shown["spill_after"]),
        (&json!(2), &json!("1h"))
    );
    let own = cli.fails(1, &["set", "gpu", "--fallback", "gpu"]);
    assert!(own.contains("cannot be its own fallback"), "{own}");
    let bad = cli.fails(1, &["set", "gpu", "--spill-after", "soon"]);
    assert!(bad.contains("spill_after"), "{bad}");
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(cli.store_path()).unwrap()).unwrap();
    assert_eq!(stored["pools"][0]["fallback"], json!(["cpu", "cloud"]));
    cli.ok(&["set", "gpu", "--no-spill"]);
    assert_eq!(
        cli.json(&["show", "gpu", "--json"]),
        json!({"name": "gpu", "hosts": ["g1"]})
    );
    let audit = cli
        .command()
        .args(["audit", "--store"])
        .arg(format!("file:{}", cli.store_path().display()))
        .arg("--json")
        .output()
        .unwrap();
    let lines = text(&audit.stdout);
    assert_eq!(lines.matches("\"spill_changed\"").count(), 3, "{lines}");
}

#[test]
fn scheduled_members_are_set_shown_and_audited() {
    let cli = Cli::new();
    // A bad window creates nothing, and says what was wrong.
    let why = cli.fails(
        1,
        &[
            "create",
            "night",
            "ws-01",
            "--during",
            "ws-01=Mon-Fri 19:00-7:00",
        ],
    );
    assert!(why.contains("'7:00' is not a time"), "{why}");
    assert!(cli.ok(&["list"]).starts_with("no pools yet"));
    let why = cli.fails(2, &["create", "night", "--during", "Mon-Fri 19:00-07:00"]);
    assert!(why.contains("expected HOST=WINDOWS"), "{why}");
    let created = cli.ok(&[
        "create",
        "night",
        "ws-01",
        "--during",
        "ws-01=mon-fri 19:00-07:00",
        "--time-zone",
        "Europe/Berlin",
    ]);
    assert!(created.contains("created pool 'night'"), "{created}");
    assert!(created.contains("during: ws-01 Mon-Fri 19:00-07:00; time zone: Europe/Berlin"));
    cli.ok(&[
        "set",
        "night",
        "--during",
        "*=Sat,Sun",
        "--select",
        "cpu_num >= 16",
    ]);
    let shown = cli.json(&["show", "night", "--json"]);
    let want = json!({"*": ["Sat,Sun"], "ws-01": ["Mon-Fri 19:00-07:00"]});
    assert_eq!(
        (&shown["during"], &shown["time_zone"]),
        (&want, &json!("Europe/Berlin"))
    );
    assert!(shown["members_error"].is_string(), "no afserver: {shown}");
    let why = cli.fails(1, &["set", "night", "--time-zone", "Europe/Berln"]);
    assert!(why.contains("Europe/Berln"), "{why}");
    cli.ok(&["set", "night", "--always", "WS-01", "--no-time-zone"]);
    let shown = cli.json(&["show", "night", "--json"]);
    assert_eq!(shown["during"], json!({"*": ["Sat,Sun"]}));
    assert!(shown.get("time_zone").is_none());
    let audit = std::fs::read_to_string(cli.dir.path().join("audit.jsonl")).unwrap();
    let kinds: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        [
            "pool_created",
            "selection_changed",
            "selection_changed",
            "selection_changed"
        ]
    );
    let last: Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(
        last["before"]["during"]["ws-01"],
        json!(["Mon-Fri 19:00-07:00"])
    );
    assert_eq!(last["after"]["during"], json!({"*": ["Sat,Sun"]}));
}
