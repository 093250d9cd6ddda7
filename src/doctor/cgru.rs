//! Where this shell's CGRU sends jobs: `af_servername` and `af_serverport` read as CGRU's
//! `cgruconfig.py` reads them (`$CGRU_LOCATION/config_default.json` with its `include`s, which
//! bring in the studio `config.json`; then `$CGRU_CUSTOM_CONFIG`; then `~/.cgru/config.json`;
//! within a file, `OS_unix`/`OS_linux` sections apply and `-` keys do not; then the
//! `CGRU_AF_SERVERNAME` and `CGRU_AF_SERVERPORT` variables), and then asked who answers there:
//! afpool (submitters go through the proxy) or afserver (around it).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::listen::who;
use super::Check;

/// CGRU's environment in a shell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgruEnv {
    /// `CGRU_LOCATION`: where CGRU is installed.
    pub location: Option<PathBuf>,
    /// `CGRU_CUSTOM_CONFIG`: one more config file.
    pub custom_config: Option<PathBuf>,
    /// `HOME`, for `~/.cgru/config.json`.
    pub home: Option<PathBuf>,
    /// `CGRU_AF_SERVERNAME`.
    pub server_name: Option<String>,
    /// `CGRU_AF_SERVERPORT`.
    pub server_port: Option<String>,
}

impl CgruEnv {
    /// This process's environment.
    pub fn from_env() -> CgruEnv {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        CgruEnv {
            location: var("CGRU_LOCATION").map(PathBuf::from),
            custom_config: var("CGRU_CUSTOM_CONFIG").map(PathBuf::from),
            home: var("HOME").map(PathBuf::from),
            server_name: var("CGRU_AF_SERVERNAME"),
            server_port: var("CGRU_AF_SERVERPORT"),
        }
    }
}

/// A setting and where its value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced {
    /// The value as text.
    pub value: String,
    /// The file or variable that set it last.
    pub from: String,
}

/// What the config files and variables say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// `af_servername`.
    pub name: Option<Sourced>,
    /// `af_serverport`.
    pub port: Option<Sourced>,
    /// Config files read, in order.
    pub read: Vec<PathBuf>,
    /// Config files CGRU skips because they do not parse, with why.
    pub broken: Vec<(PathBuf, String)>,
}

/// Reads the settings as `cgruconfig.py` does.
pub fn resolve(env: &CgruEnv) -> Resolved {
    let mut out = Resolved::default();
    let mut files = Vec::new();
    if let Some(location) = &env.location {
        files.push(location.join("config_default.json"));
    }
    files.extend(env.custom_config.iter().filter(|p| p.is_file()).cloned());
    if let Some(home) = &env.home {
        files.push(home.join(".cgru").join("config.json"));
    }
    for file in files {
        load(&file, &mut out, 0);
    }
    let env_value = |v: &Option<String>, name: &str| {
        v.as_ref().map(|value| Sourced {
            value: value.clone(),
            from: name.to_string(),
        })
    };
    if let Some(name) = env_value(&env.server_name, "CGRU_AF_SERVERNAME") {
        out.name = Some(name);
    }
    if let Some(port) = env_value(&env.server_port, "CGRU_AF_SERVERPORT") {
        out.port = Some(port);
    }
    out
}

fn load(file: &Path, out: &mut Resolved, depth: usize) {
    if depth > 8 || out.read.iter().any(|f| f == file) || !file.is_file() {
        return;
    }
    out.read.push(file.to_path_buf());
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => return out.broken.push((file.to_path_buf(), e.to_string())),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let config = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(mut top)) => top.remove("cgru_config"),
        Ok(_) => None,
        Err(e) => return out.broken.push((file.to_path_buf(), e.to_string())),
    };
    let Some(Value::Object(config)) = config else {
        return out
            .broken
            .push((file.to_path_buf(), "no \"cgru_config\" object".into()));
    };
    take(&config, file, out);
    if let Some(Value::Array(includes)) = config.get("include") {
        let dir = file.parent().unwrap_or(Path::new("."));
        for include in includes.iter().filter_map(Value::as_str) {
            load(&dir.join(include), out, depth + 1);
        }
    }
}

/// Applies the keys of one `cgru_config` object (and its `OS_unix`/`OS_linux` sections).
fn take(config: &serde_json::Map<String, Value>, file: &Path, out: &mut Resolved) {
    for (key, value) in config {
        let slot = match key.as_str() {
            "OS_unix" | "OS_linux" => {
                if let Value::Object(section) = value {
                    take(section, file, out);
                }
                continue;
            }
            "af_servername" => &mut out.name,
            "af_serverport" => &mut out.port,
            _ => continue,
        };
        let value = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        *slot = Some(Sourced {
            value,
            from: file.display().to_string(),
        });
    }
}

/// `cgru config` (the files CGRU reads) and `cgru submitters` (who answers where they point).
pub async fn checks(env: &CgruEnv, listen: &str, upstream: &str) -> Vec<Check> {
    let resolved = resolve(env);
    let mut checks = vec![config_check(env, &resolved)];
    checks.extend(submitters(&resolved, listen, upstream).await);
    checks
}

fn config_check(env: &CgruEnv, resolved: &Resolved) -> Check {
    if let Some((file, why)) = resolved.broken.first() {
        return Check::warn(
            "cgru config",
            format!(
                "{} does not parse, so CGRU ignores it: {why}",
                file.display()
            ),
            "fix its JSON: CGRU reads {\"cgru_config\": {...}}",
        );
    }
    match (&env.location, resolved.read.is_empty()) {
        (None, _) => Check::warn(
            "cgru config",
            "CGRU_LOCATION is not set in this shell: CGRU's config.json cannot be read",
            "run afpool doctor in an artist's shell (CGRU's environment set up), or export \
             CGRU_LOCATION=/opt/cgru",
        ),
        (Some(location), true) => Check::warn(
            "cgru config",
            format!(
                "no config_default.json in CGRU_LOCATION {}",
                location.display()
            ),
            "point CGRU_LOCATION at the CGRU installation",
        ),
        (Some(_), false) => {
            let read: Vec<String> = resolved
                .read
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            Check::ok("cgru config", format!("read {}", read.join(", ")))
        }
    }
}

async fn submitters(resolved: &Resolved, listen: &str, upstream: &str) -> Option<Check> {
    const NAME: &str = "cgru submitters";
    let port = resolved.port.as_ref()?;
    let name = resolved.name.clone().unwrap_or(Sourced {
        value: "127.0.0.1".into(),
        from: "afanasy's default".into(),
    });
    let target = format!("{}:{}", name.value, port.value);
    let origin = format!(
        "af_servername from {}, af_serverport from {}",
        name.from, port.from
    );
    let listen_port = listen.rsplit(':').next().unwrap_or_default();
    let fix_port = format!(
        "set \"af_serverport\": {listen_port} in the studio config.json (CGRU_LOCATION), or \
         CGRU_AF_SERVERPORT={listen_port}, and af_servername to the proxy's host"
    );
    Some(match who(&target).await.as_deref() {
        Some(s) if s.starts_with("afpool/") => Check::ok(
            NAME,
            format!("jobs go to {target}, where afpool answers ({origin})"),
        ),
        Some(s) if s.starts_with("afanasy/") => Check::warn(
            NAME,
            format!("jobs go to {target}, afserver itself, around the proxy ({origin})"),
            fix_port,
        ),
        _ if port.value == listen_port => Check::warn(
            NAME,
            format!("jobs go to {target}, the proxy's port, but afpool does not answer there ({origin})"),
            "start afpool serve there (it listens only while afserver is reachable), or point \
             af_servername at the proxy's host",
        ),
        _ => Check::warn(
            NAME,
            format!("jobs go to {target}, where neither afpool nor afserver ({upstream}) answers ({origin})"),
            fix_port,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn files_then_variables_as_cgruconfig_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let cgru = dir.path().join("cgru");
        write(
            &cgru,
            "config_default.json",
            r#"{"cgru_config":{"include":["afanasy/config_default.json","config.json"]}}"#,
        );
        write(
            &cgru,
            "afanasy/config_default.json",
            r#"{"cgru_config":{"af_servername":"127.0.0.1","af_serverport":51000}}"#,
        );
        let studio = write(&cgru, "config.json", "\u{feff}{\"cgru_config\":{\"-af_serverport\":1,\"OS_unix\":{\"af_serverport\":51100}}}");
        let env = CgruEnv {
            location: Some(cgru.clone()),
            home: Some(dir.path().join("home")),
            ..CgruEnv::default()
        };
        let r = resolve(&env);
        assert_eq!(r.port.as_ref().unwrap().value, "51100");
        assert_eq!(r.port.as_ref().unwrap().from, studio.display().to_string());
        assert_eq!(r.name.as_ref().unwrap().value, "127.0.0.1");
        assert_eq!(r.read.len(), 3);
        let env = CgruEnv {
            server_port: Some("51000".into()),
            ..env
        };
        let r = resolve(&env);
        assert_eq!(r.port.unwrap().from, "CGRU_AF_SERVERPORT");
        write(dir.path(), "home/.cgru/config.json", "{broken");
        let r = resolve(&CgruEnv {
            location: None,
            ..env
        });
        assert_eq!(r.broken.len(), 1);
        assert!(config_check(&CgruEnv::default(), &r)
            .detail
            .contains("does not parse"));
    }
}
