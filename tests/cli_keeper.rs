//! `afpool keeper install|uninstall` on a temporary CGRU-like tree: the files, their run bits
//! and header lines as Keeper reads them, the older tool's entries replaced and put back, an
//! idempotent install and an uninstall that leaves the tree as it was.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

const AFPOOL: &str = env!("CARGO_BIN_EXE_afpool");

/// A CGRU-like tree: CGRU's own entries and the older pools tool's.
fn cgru_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let menu = dir.path().join("start/AFANASY");
    std::fs::create_dir_all(&menu).unwrap();
    let files = [
        (
            "10.afwatch.sh",
            "#!/usr/bin/env bash\n# Name=Start Watch...\n",
        ),
        ("_setup.sh", "export AF_ROOT=/opt/cgru/afanasy\n"),
        (
            "afpoolmanager.cmd",
            "rem Name=Manage Pools\nrem Icon=afanasy.png\n",
        ),
        ("afpoolserver.cmd", "rem Name=Start Pool Server\n"),
        ("afpoolserverconfig.cmd", "rem Name=Configure Pool Server\n"),
    ];
    for (name, text) in files {
        std::fs::write(menu.join(name), text).unwrap();
    }
    dir
}

/// Every file under `root`: relative path → (content, mode).
fn snapshot(root: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            files.insert(rel, (std::fs::read(&path).unwrap(), mode));
        }
    }
    files
}

fn keeper(cgru: &Path, args: &[&str]) -> Output {
    Command::new(AFPOOL)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CGRU_LOCATION", cgru)
        .arg("keeper")
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// (name, icon, separator) as Keeper's tray.py reads them from a menu entry.
fn keeper_reads(text: &str) -> (String, String, bool) {
    let value = |key: &str| {
        let line = text.lines().rfind(|l| l.contains(key)).unwrap_or_default();
        line.split(key)
            .last()
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    (value("Name="), value("Icon="), text.contains("Separator"))
}

#[test]
fn install_adds_the_entries_as_keeper_reads_them() {
    let cgru = cgru_tree();
    let said = ok(&keeper(cgru.path(), &["install"]));
    for old in [
        "afpoolmanager.cmd",
        "afpoolserver.cmd",
        "afpoolserverconfig.cmd",
    ] {
        assert!(
            said.contains(&format!("replaced the older pools tool's entry {old}")),
            "{said}"
        );
    }
    let files = snapshot(&cgru.path().join("start/AFANASY"));
    let expected = [
        ("60.afpool_manage", "Manage Pools...", "afanasy.png", true),
        ("61.afpool_start", "Start Pools Proxy", "afanasy.png", false),
        ("62.afpool_status", "Pools Proxy Status", "info.png", false),
    ];
    for (file, name, icon, separator) in expected {
        let (sh, sh_mode) = &files[&format!("{file}.sh")];
        let (cmd, cmd_mode) = &files[&format!("{file}.cmd")];
        let (sh, cmd) = (String::from_utf8_lossy(sh), String::from_utf8_lossy(cmd));
        assert_eq!((*sh_mode, *cmd_mode), (0o755, 0o644), "{file}");
        assert_eq!(keeper_reads(&sh), (name.into(), icon.into(), separator));
        assert_eq!(keeper_reads(&cmd), (name.into(), icon.into(), separator));
        assert_eq!(sh.lines().next(), Some("#!/usr/bin/env bash"));
        assert_eq!(sh.lines().nth(1), Some(format!("# Name={name}").as_str()));
        assert_eq!(
            cmd.lines().next(),
            Some(format!("rem Name={name}").as_str())
        );
        let script = cgru.path().join(format!("start/AFANASY/{file}.sh"));
        let syntax = Command::new("bash").arg("-n").arg(script).status();
        assert!(syntax.unwrap().success(), "{file}.sh syntax");
    }
    let shared = String::from_utf8_lossy(&files["_afpool.sh"].0).to_string();
    assert!(
        shared.contains(&format!("AFPOOL_INSTALLED_BIN=\"{AFPOOL}\"")),
        "{shared}"
    );
    assert!(!files.contains_key("afpoolmanager.cmd"));
    assert!(files.contains_key(".afpool-replaced/afpoolmanager.cmd"));
    assert!(files.contains_key("10.afwatch.sh"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&files[".afpool-keeper.json"].0).unwrap();
    assert_eq!(manifest["installed"].as_array().unwrap().len(), 8);
    assert_eq!(manifest["replaced"].as_array().unwrap().len(), 3);
}

#[test]
fn install_is_idempotent_and_uninstall_restores_the_tree() {
    let cgru = cgru_tree();
    let before = snapshot(cgru.path());
    ok(&keeper(cgru.path(), &["install"]));
    let installed = snapshot(cgru.path());
    let again = ok(&keeper(
        cgru.path(),
        &["install", "--cgru", cgru.path().to_str().unwrap()],
    ));
    assert!(!again.contains("replaced"), "{again}");
    assert_eq!(snapshot(cgru.path()), installed);
    let said = ok(&keeper(cgru.path(), &["uninstall"]));
    assert!(
        said.contains("restored the older pools tool's entry afpoolmanager.cmd"),
        "{said}"
    );
    assert_eq!(snapshot(cgru.path()), before);
    assert!(!cgru.path().join("start/AFANASY/.afpool-replaced").exists());
}

#[test]
fn uninstall_leaves_files_it_did_not_install() {
    let cgru = cgru_tree();
    ok(&keeper(cgru.path(), &["install"]));
    let mine = cgru.path().join("start/AFANASY/70.studio.sh");
    std::fs::write(&mine, "#!/usr/bin/env bash\n# Name=Studio\n").unwrap();
    ok(&keeper(cgru.path(), &["uninstall"]));
    assert!(mine.is_file());
    let out = keeper(cgru.path(), &["uninstall"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no afpool Keeper entries"));
}

#[test]
fn a_folder_that_is_not_cgru_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = keeper(dir.path(), &["install"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a CGRU location"));
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[test]
fn the_status_entry_runs_afpool_from_the_installed_settings() {
    let cgru = cgru_tree();
    ok(&keeper(cgru.path(), &["install"]));
    let fake = cgru.path().join("fake-afpool");
    std::fs::write(&fake, "#!/usr/bin/env bash\necho \"afpool $*\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(cgru.path().join("start/AFANASY/62.afpool_status.sh"))
        .arg("--here")
        .env("AFPOOL_BIN", &fake)
        .output()
        .unwrap();
    let said = ok(&out);
    assert!(said.contains("pools proxy (port 51100): "), "{said}");
    assert!(said.contains("legacy Pool Server (port 9999): "), "{said}");
    assert!(
        said.contains("afpool pool list\n") && said.contains("afpool hosts\n"),
        "{said}"
    );
}
