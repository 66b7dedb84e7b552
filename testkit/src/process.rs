//! A process under test whose stderr is read line by line on a thread (so it never
//! blocks on a full pipe) and handed over through a channel; killed on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct Logged {
    pub child: Child,
    /// Its stderr lines; the channel ends when the process closes stderr.
    pub log: mpsc::Receiver<String>,
}

impl Logged {
    /// Starts `command` with stderr piped; stdin and stdout are left as the caller set them.
    pub fn spawn(mut command: Command) -> Logged {
        let mut child = command
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{command:?}: {e}"));
        let stderr = child.stderr.take().expect("stderr");
        let (tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Logged { child, log }
    }

    /// Reads lines into `seen` until one contains `needle`; panics after 15 s with what
    /// was seen.
    pub fn wait_for(&self, needle: &str, seen: &mut Vec<String>) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !seen.iter().any(|l| l.contains(needle)) {
            assert!(Instant::now() < deadline, "no {needle:?} within 15 s: {seen:?}");
            if let Ok(line) = self.log.recv_timeout(Duration::from_millis(100)) {
                seen.push(line);
            }
        }
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Another binary of the workspace, beside `test_binary` (a test's
/// `env!("CARGO_BIN_EXE_...")`) in the target directory: cargo builds only the test's own
/// package's binaries for it, so say how to build the others when one is missing.
pub fn workspace_binary(test_binary: &str, name: &str) -> PathBuf {
    let path = Path::new(test_binary).with_file_name(name);
    assert!(path.exists(), "{} is missing: run `cargo build -p {name}` (the workspace test run builds it)", path.display());
    path
}

/// A hub started on loopback ports of its own, ready for API calls.
pub struct HubProcess {
    pub process: Logged,
    /// `host:port` of the API.
    pub api: String,
    /// `host:port` of the sidecar sessions.
    pub listen: String,
}

/// Starts the hub binary `binary` with `--token-file token_file`, its two ports on free
/// loopback ports, and `args`; returns once its API listens.
pub fn start_hub(binary: &str, token_file: &Path, args: &[&std::ffi::OsStr]) -> HubProcess {
    let (listen, api) = (format!("127.0.0.1:{}", crate::peers::free_port()), format!("127.0.0.1:{}", crate::peers::free_port()));
    let mut command = Command::new(binary);
    command.args(["--listen", &listen, "--api-listen", &api, "--token-file"]).arg(token_file).args(args).stdin(Stdio::null()).stdout(Stdio::null());
    let process = Logged::spawn(command);
    process.wait_for("API (/api/items", &mut Vec::new());
    HubProcess { process, api, listen }
}
