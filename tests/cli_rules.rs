//! `afpool rules` end to end: the built binary against a file store in a temp dir; edits are
//! numbered from 1, a bad condition fails with one line saying where and stores nothing, every
//! change is audited as the OS user, and `afpool explain` names the rule a job file hits.

use std::process::{Command, Output};

use serde_json::Value;

struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Cli {
        Cli {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_afpool"))
            .current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env("RUST_LOG", "off")
            .env("USER", "wrangler")
            .env_remove("AFPOOL_CONFIG")
            .env_remove("AFPOOL_LEGACY_CONFIG")
            .env_remove("AFPOOL_HOME")
            .env(
                "AFPOOL_STORE",
                format!("file:{}", self.dir.path().join("pools.json").display()),
            )
            .args(args)
            .output()
            .expect("run afpool")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {err}");
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8(out.stderr).unwrap()
    }
}

#[test]
fn rules_are_edited_listed_and_audited() {
    let cli = Cli::new();
    assert_eq!(
        cli.ok(&["rules", "list"]),
        "no default pool rules stored: jobs naming no pool are forwarded untouched\n"
    );
    cli.ok(&["rules", "add", "'nuke' in services", "comp"]);
    cli.ok(&[
        "rules",
        "add",
        "project == \"lighting\"",
        "lighting",
        "--at",
        "1",
    ]);
    let said = cli.ok(&["rules", "otherwise", "hold"]);
    assert_eq!(
        said,
        "jobs matching no default rule get held; now 2 rules, otherwise held\n"
    );
    assert_eq!(
        cli.ok(&["rules", "list"]),
        "#  WHEN                   POOL\n\
         1  project == \"lighting\"  lighting\n\
         2  'nuke' in services     comp\n\
         otherwise: held\n"
    );
    // A bad condition: one line saying which rule and where; nothing stored.
    let err = cli.fails(&["rules", "add", "servics.exists(s, s == 'x')", "comp"]);
    assert!(
        err.starts_with("afpool: invalid default pool rules: rule 3: "),
        "{err}"
    );
    assert!(
        err.contains("column 1") && err.lines().count() == 1,
        "{err}"
    );
    let err = cli.fails(&["rules", "remove", "3"]);
    assert_eq!(
        err,
        "afpool: invalid default pool rules: there is no rule 3: rules are numbered 1 to 2\n"
    );
    assert!(cli
        .ok(&["rules", "remove", "1"])
        .starts_with("removed default rule 1:"));
    let listed: Value = serde_json::from_str(&cli.ok(&["rules", "list", "--json"])).unwrap();
    assert_eq!(listed["rules"][0]["pool"], "comp");
    assert_eq!(listed["otherwise"], "hold");
    let audit = cli.ok(&["audit", "--json"]);
    let entries: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 4, "{audit}");
    assert!(entries
        .iter()
        .all(|e| e["kind"] == "rules_changed" && e["who"] == "wrangler"));
    assert_eq!(entries[3]["before"]["rules"].as_array().unwrap().len(), 2);
    assert_eq!(entries[3]["after"]["rules"].as_array().unwrap().len(), 1);
    cli.ok(&["rules", "clear"]);
    assert!(cli
        .ok(&["rules", "list"])
        .starts_with("no default pool rules stored"));
}

#[test]
fn explain_names_the_rule_a_job_hits() {
    let cli = Cli::new();
    cli.ok(&["pool", "create", "comp", "r10"]);
    cli.ok(&["rules", "add", "'nuke' in services", "comp"]);
    let job = r#"{"job":{"name":"comp010","user_name":"artist","host_name":"ws01",
        "blocks":[{"name":"b","service":"nuke","tasks":[{"name":"t","command":"x"}]}]}}"#;
    std::fs::write(cli.dir.path().join("comp010.json"), job).unwrap();
    // No afserver here: explained with the pools' hosts only.
    let out = cli.run(&["explain", "--server", "127.0.0.1:9", "comp010.json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("default rule:   default rule 1 ('nuke' in services) → comp"),
        "{text}"
    );
    assert!(text.contains("'comp' (from a default pool rule)"), "{text}");
}

#[test]
fn the_first_rule_keeps_a_configured_default_pool_as_the_otherwise() {
    let cli = Cli::new();
    let config = cli.dir.path().join("afpool.toml");
    std::fs::write(&config, "[routing]\ndefault_pool = \"farm\"\n").unwrap();
    let config = config.display().to_string();
    assert_eq!(
        cli.ok(&["rules", "list", "--config", &config]),
        "no default pool rules stored: jobs naming no pool get default_pool 'farm'\n"
    );
    let said = cli.ok(&[
        "rules",
        "add",
        "'nuke' in services",
        "comp",
        "--config",
        &config,
    ]);
    assert!(
        said.ends_with("now 1 rule, otherwise pool 'farm'\n"),
        "{said}"
    );
    let listed = cli.ok(&["rules", "list", "--config", &config]);
    assert!(listed.ends_with("otherwise: pool 'farm'\n"), "{listed}");
    cli.ok(&["rules", "otherwise", "hold", "--config", &config]);
    let listed = cli.ok(&["rules", "list", "--config", &config]);
    assert!(
        listed.ends_with("(default_pool 'farm' is not used while rules are stored)\n"),
        "{listed}"
    );
}
