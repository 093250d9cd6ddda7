//! A real afserver 3.4.1 for the optional tests that run only when `AFPOOL_REAL_AFSERVER` names
//! its binary inside a CGRU tree (`<cgru>/afanasy/<os>/bin/afserver`, built as in the project
//! notes, listening on loopback only), and real afrender processes beside it. CI never has one.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use super::free_addr;

/// The afserver binary `AFPOOL_REAL_AFSERVER` names, if it is set.
pub fn binary() -> Option<PathBuf> {
    std::env::var_os("AFPOOL_REAL_AFSERVER").map(PathBuf::from)
}

/// A real afserver in a temp store, stopped on drop.
pub struct RealAfserver {
    child: Child,
    /// Where it listens (127.0.0.1 only: built as in the project notes).
    pub addr: SocketAddr,
    binary: PathBuf,
    dir: tempfile::TempDir,
}

/// A real afrender (beside the afserver binary) registered under a render name, stopped on drop.
pub struct RealAfrender {
    child: Child,
}

impl Drop for RealAfrender {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RealAfserver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RealAfserver {
    /// Start `binary`; returns once it logs that it listens.
    pub fn start(binary: &Path) -> RealAfserver {
        let dir = tempfile::tempdir().unwrap();
        let addr = free_addr();
        let mut child = cgru_command(binary, dir.path(), addr)
            .env("CGRU_AF_STORE_FOLDER", dir.path().join("store"))
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
            binary: binary.to_path_buf(),
            dir,
        }
    }

    /// Starts the afrender beside the afserver binary as render `name` (`AF_HOSTNAME`), talking
    /// to this afserver directly; it registers within a few seconds (wait on `get renders`).
    pub fn start_render(&self, name: &str) -> RealAfrender {
        let home = self.dir.path().join(name);
        std::fs::create_dir_all(&home).unwrap();
        let child = cgru_command(&self.binary.with_file_name("afrender"), &home, self.addr)
            .env("AF_HOSTNAME", name)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start afrender");
        RealAfrender { child }
    }

    /// Whether the process still runs.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

/// A CGRU program (`<cgru>/afanasy/<os>/bin/NAME`) run in `home` with the CGRU environment, its
/// afserver at `addr`.
fn cgru_command(binary: &Path, home: &Path, addr: SocketAddr) -> Command {
    let cgru = binary
        .ancestors()
        .nth(4)
        .expect("<cgru>/afanasy/<os>/bin/afserver");
    let python = [cgru.join("lib/python"), cgru.join("afanasy/python")];
    let mut command = Command::new(binary);
    command
        .current_dir(home)
        .env("CGRU_LOCATION", cgru)
        .env("AF_ROOT", cgru.join("afanasy"))
        .env("CGRU_VERSION", "3.4.1")
        .env("HOME", home)
        .env("PYTHONPATH", std::env::join_paths(python).unwrap())
        .env("CGRU_AF_SERVERNAME", "127.0.0.1")
        .env("CGRU_AF_SERVERPORT", addr.port().to_string());
    command
}
