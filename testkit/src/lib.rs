//! Test support for the end-to-end tests: two network namespaces joined by a veth pair,
//! with documentation addresses (192.0.2.0/24, 2001:db8::/64) that exist only inside
//! them. Needs root and iproute2 (`bash scripts/setup.sh --test`).

pub mod api_server;
pub mod chart;
pub mod cluster;
pub mod peers;
pub mod podman;
pub mod process;
pub mod vendors;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The client namespace has 192.0.2.1 and 2001:db8::1 on `client_dev`; the server
/// namespace 192.0.2.2 and 2001:db8::2 on `server_dev`. Both are deleted on drop, with
/// every process spawned in them.
pub struct Netns {
    pub client: String,
    pub server: String,
    pub client_dev: String,
    pub server_dev: String,
    pub children: Vec<Child>,
}

pub const CLIENT_V4: &str = "192.0.2.1";
pub const SERVER_V4: &str = "192.0.2.2";

/// Polls `check` until it gives a value; panics with `what` after `limit`.
pub fn eventually<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs a command that must succeed; the panic names it.
pub fn run(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e} (run bash scripts/setup.sh --test)"));
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Runs `command`, which must succeed, and returns its stdout.
pub fn output(mut command: Command) -> String {
    let out = command.output().expect("runs");
    assert!(out.status.success(), "{command:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

impl Netns {
    pub fn new() -> Netns {
        // Unique per process and per call: tests of one binary may run side by side.
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let tag = format!("rmr{}{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let ns = Netns {
            client: format!("{tag}c"),
            server: format!("{tag}s"),
            client_dev: format!("{tag}a"),
            server_dev: format!("{tag}b"),
            children: Vec::new(),
        };
        run(&["ip", "netns", "add", &ns.client]);
        run(&["ip", "netns", "add", &ns.server]);
        run(&["ip", "link", "add", &ns.client_dev, "netns", &ns.client, "type", "veth", "peer", "name", &ns.server_dev, "netns", &ns.server]);
        for (name, dev, v4, v6) in [
            (&ns.client, &ns.client_dev, "192.0.2.1/24", "2001:db8::1/64"),
            (&ns.server, &ns.server_dev, "192.0.2.2/24", "2001:db8::2/64"),
        ] {
            run(&["ip", "-n", name, "addr", "add", v4, "dev", dev]);
            run(&["ip", "-n", name, "addr", "add", v6, "dev", dev, "nodad"]);
            run(&["ip", "-n", name, "link", "set", dev, "up"]);
            run(&["ip", "-n", name, "link", "set", "lo", "up"]);
        }
        ns
    }

    /// `args` run inside namespace `ns`.
    pub fn exec(&self, ns: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).args(args);
        c
    }

    /// Starts `args` in `ns` (stderr piped, the rest discarded); returns its index in
    /// `children`.
    pub fn spawn(&mut self, ns: &str, args: &[&str]) -> usize {
        let child = self
            .exec(ns, args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        self.children.push(child);
        self.children.len() - 1
    }

    /// Waits until `curl` in `ns` gets an answer from `url`.
    pub fn wait_for_http(&self, ns: &str, url: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let ok = self
                .exec(ns, &["curl", "-s", "-o", "/dev/null", url])
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{url} did not answer within 10 s in namespace {ns}");
    }
}

impl Default for Netns {
    fn default() -> Self {
        Netns::new()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.client]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.server]).status();
    }
}

/// `/etc/netns/NS/hosts` for namespace `ns` (`ip netns exec` puts it in place of
/// /etc/hosts), naming `name` at `ip` beside localhost; removed on drop.
pub struct NetnsHosts(std::path::PathBuf);

impl NetnsHosts {
    pub fn new(ns: &str, ip: &str, name: &str) -> NetnsHosts {
        let dir = std::path::Path::new("/etc/netns").join(ns);
        std::fs::create_dir_all(&dir).expect("mkdir /etc/netns/NS");
        std::fs::write(dir.join("hosts"), format!("127.0.0.1 localhost\n{ip} {name}\n")).expect("write hosts");
        NetnsHosts(dir)
    }

    /// The hosts file, for a test that moves the name.
    pub fn file(&self) -> std::path::PathBuf {
        self.0.join("hosts")
    }
}

impl Drop for NetnsHosts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
