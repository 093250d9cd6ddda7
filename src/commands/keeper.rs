//! `afpool keeper install|uninstall`: afpool's entries in the CGRU Keeper's AFANASY menu.
//!
//! Keeper builds its tray menus from `$CGRU_LOCATION/start/<MENU>/`: every `.sh` (Linux, macOS)
//! or `.cmd` (Windows) file not starting with `.` or `_`, named by its `Name=` line, with an
//! optional `Icon=` and `Separator` line. The entries (`scripts/keeper/`) are built into the
//! binary, so an installed afpool can install them: "Manage Pools...", "Start Pools Proxy",
//! "Pools Proxy Status", plus the shared `_afpool.sh`/`_afpool.cmd`, into which the installer
//! writes its own path.
//!
//! The older pools tool's entries (`afpoolmanager.cmd` "Manage Pools", `afpoolserver.cmd` "Start
//! Pool Server", `afpoolserverconfig.cmd` "Configure Pool Server", and the first version's
//! `afpoolsaddin.cmd`) are moved into `start/AFANASY/.afpool-replaced/`, which Keeper does not
//! read. The manifest `start/AFANASY/.afpool-keeper.json` records what was installed and
//! replaced; `uninstall` removes exactly the installed files and puts the replaced ones back.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};

/// One file afpool installs into the menu folder.
#[derive(Debug, Clone, Copy)]
pub struct EntryFile {
    /// File name in `start/AFANASY/`.
    pub name: &'static str,
    /// Content, as shipped in `scripts/keeper/`.
    pub text: &'static str,
    /// Installed with run bits (`.sh` menu entries).
    pub executable: bool,
}

macro_rules! entry {
    ($name:literal, $executable:expr) => {
        EntryFile {
            name: $name,
            text: include_str!(concat!("../../scripts/keeper/", $name)),
            executable: $executable,
        }
    };
}

/// Every file installed, in order.
pub const ENTRIES: &[EntryFile] = &[
    entry!("_afpool.sh", false),
    entry!("_afpool.cmd", false),
    entry!("60.afpool_manage.sh", true),
    entry!("60.afpool_manage.cmd", false),
    entry!("61.afpool_start.sh", true),
    entry!("61.afpool_start.cmd", false),
    entry!("62.afpool_status.sh", true),
    entry!("62.afpool_status.cmd", false),
];

/// The older pools tool's entries (file, menu name) that afpool's replace.
pub const OLD_ENTRIES: &[(&str, &str)] = &[
    ("afpoolmanager.cmd", "Manage Pools"),
    ("afpoolserver.cmd", "Start Pool Server"),
    ("afpoolserverconfig.cmd", "Configure Pool Server"),
    ("afpoolsaddin.cmd", "Manage Pools (first version)"),
];

/// The menu folder under `$CGRU_LOCATION`.
pub const MENU: &str = "start/AFANASY";
/// The manifest's file name in the menu folder (Keeper skips names starting with `.`).
pub const MANIFEST: &str = ".afpool-keeper.json";
/// Where replaced entries are kept, in the menu folder (Keeper skips folders starting with `.`).
pub const REPLACED_DIR: &str = ".afpool-replaced";

/// `afpool keeper` subcommands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum KeeperCommand {
    /// Install afpool's entries into Keeper's AFANASY menu, replacing the older pools tool's
    /// entries (kept aside, and put back by `uninstall`).
    Install(CgruArgs),
    /// Remove exactly the entries `install` installed, and put back what it replaced.
    Uninstall(CgruArgs),
}

/// Where CGRU is.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct CgruArgs {
    /// The CGRU folder (holding `start/`).
    #[arg(long, env = "CGRU_LOCATION", value_name = "DIR")]
    pub cgru: PathBuf,
}

/// What an install did, as recorded in the manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// afpool version that installed.
    pub version: String,
    /// Files installed into the menu folder.
    pub installed: Vec<String>,
    /// Older entries moved into [`REPLACED_DIR`].
    pub replaced: Vec<String>,
}

/// Runs a `keeper` subcommand, reporting each step on `out`.
pub fn run(command: KeeperCommand, out: &mut impl Write) -> anyhow::Result<()> {
    match command {
        KeeperCommand::Install(args) => {
            let exe = std::env::current_exe().context("cannot find the afpool binary's path")?;
            install(&args.cgru, &exe, out).map(|_| ())
        }
        KeeperCommand::Uninstall(args) => uninstall(&args.cgru, out).map(|_| ()),
    }
}

/// The menu folder of the CGRU at `cgru`; an error if `cgru` has no `start/` folder.
fn menu_dir(cgru: &Path) -> anyhow::Result<PathBuf> {
    if !cgru.join("start").is_dir() {
        bail!(
            "{} is not a CGRU location (no start/ folder): pass --cgru DIR or set CGRU_LOCATION",
            cgru.display()
        );
    }
    Ok(cgru.join(MENU))
}

/// Installs the entries into `cgru`'s menu, `afpool` being the binary they should run.
pub fn install(cgru: &Path, afpool: &Path, out: &mut impl Write) -> anyhow::Result<Manifest> {
    let menu = menu_dir(cgru)?;
    std::fs::create_dir_all(&menu).with_context(|| format!("creating {}", menu.display()))?;
    let mut manifest = read_manifest(&menu)?.unwrap_or_default();
    for (file, name) in OLD_ENTRIES {
        if menu.join(file).is_file() {
            set_aside(&menu, file)?;
            writeln!(out, "replaced the older pools tool's entry {file} (\"{name}\"), kept in {REPLACED_DIR}/")?;
            if !manifest.replaced.iter().any(|r| r == file) {
                manifest.replaced.push(file.to_string());
            }
        }
    }
    for entry in ENTRIES {
        let path = menu.join(entry.name);
        let text = with_binary(entry, afpool);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        set_mode(&path, entry.executable)?;
        writeln!(out, "installed {}", path.display())?;
    }
    manifest.version = env!("CARGO_PKG_VERSION").to_string();
    manifest.installed = ENTRIES.iter().map(|e| e.name.to_string()).collect();
    let text = serde_json::to_string_pretty(&manifest)? + "\n";
    std::fs::write(menu.join(MANIFEST), text).context("writing the manifest")?;
    Ok(manifest)
}

/// Removes what the manifest says was installed and puts the replaced entries back.
pub fn uninstall(cgru: &Path, out: &mut impl Write) -> anyhow::Result<Manifest> {
    let menu = menu_dir(cgru)?;
    let Some(manifest) = read_manifest(&menu)? else {
        bail!(
            "no afpool Keeper entries in {} (no {MANIFEST})",
            menu.display()
        );
    };
    for file in &manifest.installed {
        let path = menu.join(checked_name(file)?);
        match std::fs::remove_file(&path) {
            Ok(()) => writeln!(out, "removed {}", path.display())?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
        }
    }
    for file in &manifest.replaced {
        let (kept, back) = (
            menu.join(REPLACED_DIR).join(checked_name(file)?),
            menu.join(file),
        );
        if kept.is_file() && !back.exists() {
            std::fs::rename(&kept, &back).with_context(|| format!("restoring {file}"))?;
            writeln!(out, "restored the older pools tool's entry {file}")?;
        }
    }
    let _ = std::fs::remove_dir(menu.join(REPLACED_DIR)); // only when empty
    std::fs::remove_file(menu.join(MANIFEST)).context("removing the manifest")?;
    Ok(manifest)
}

/// Moves an old entry into [`REPLACED_DIR`].
fn set_aside(menu: &Path, file: &str) -> anyhow::Result<()> {
    let kept = menu.join(REPLACED_DIR);
    std::fs::create_dir_all(&kept).with_context(|| format!("creating {}", kept.display()))?;
    std::fs::rename(menu.join(file), kept.join(file)).with_context(|| format!("moving {file}"))
}

/// A manifest file name, refused if it would reach outside the menu folder.
fn checked_name(file: &str) -> anyhow::Result<&str> {
    let plain = !file.is_empty() && !file.contains(['/', '\\']) && file != "..";
    if !plain {
        bail!("the manifest names {file:?}, not a file in the menu folder");
    }
    Ok(file)
}

fn read_manifest(menu: &Path) -> anyhow::Result<Option<Manifest>> {
    let path = menu.join(MANIFEST);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let manifest = serde_json::from_str(&text);
    Ok(Some(
        manifest.with_context(|| format!("parsing {}", path.display()))?,
    ))
}

/// The entry's text with the installing binary's path written into the shared settings.
pub fn with_binary(entry: &EntryFile, afpool: &Path) -> String {
    let path = afpool.display().to_string();
    match entry.name {
        "_afpool.sh" => entry.text.replacen(
            "AFPOOL_INSTALLED_BIN=\"\"",
            &format!("AFPOOL_INSTALLED_BIN=\"{}\"", shell_escape(&path)),
            1,
        ),
        "_afpool.cmd" => entry.text.replacen(
            "set \"AFPOOL_INSTALLED_BIN=\"",
            &format!("set \"AFPOOL_INSTALLED_BIN={path}\""),
            1,
        ),
        _ => entry.text.to_string(),
    }
}

/// Escapes text for a bash double-quoted string.
fn shell_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(unix)]
fn set_mode(path: &Path, executable: bool) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", path.display()))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _executable: bool) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::plain("/opt/afpool/bin/afpool", "/opt/afpool/bin/afpool")]
    #[case::special("/o$p/a\"b`c\\d", "/o\\$p/a\\\"b\\`c\\\\d")]
    fn shell_escapes(#[case] input: &str, #[case] expected: &str) {
        assert_eq!(shell_escape(input), expected);
    }

    #[test]
    fn the_binary_path_is_written_into_the_shared_settings() {
        let bin = Path::new("/opt/af pool/afpool");
        for entry in ENTRIES {
            let text = with_binary(entry, bin);
            match entry.name {
                "_afpool.sh" => {
                    assert!(text.contains("AFPOOL_INSTALLED_BIN=\"/opt/af pool/afpool\""))
                }
                "_afpool.cmd" => {
                    assert!(text.contains("set \"AFPOOL_INSTALLED_BIN=/opt/af pool/afpool\""))
                }
                _ => assert_eq!(text, entry.text),
            }
        }
    }

    #[rstest]
    #[case("../x", false)]
    #[case("a/b", false)]
    #[case("a\\b", false)]
    #[case("..", false)]
    #[case("", false)]
    #[case("60.afpool_manage.sh", true)]
    fn manifest_names_stay_in_the_menu(#[case] name: &str, #[case] ok: bool) {
        assert_eq!(checked_name(name).is_ok(), ok);
    }

    /// What Keeper's tray.py reads from an entry: every line containing `Name=`, `Icon=` or
    /// `Separator` counts, so each must appear once, in the header, and nowhere else.
    #[test]
    fn entries_have_exactly_one_header_of_each_kind() {
        for entry in ENTRIES.iter().filter(|e| !e.name.starts_with('_')) {
            let count = |key: &str| entry.text.lines().filter(|l| l.contains(key)).count();
            assert_eq!(count("Name="), 1, "{}", entry.name);
            assert_eq!(count("Icon="), 1, "{}", entry.name);
            assert!(count("Separator") <= 1, "{}", entry.name);
        }
    }
}
