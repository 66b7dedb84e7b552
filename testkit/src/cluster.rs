//! A small "cluster" for end-to-end tests: one network namespace per pod, each joined by
//! a veth pair to a bridge in a namespace of its own (the node's network), with
//! documentation addresses 192.0.2.10, .11, ... that exist only inside them. Deleted on
//! drop. Needs root and iproute2.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::run;

pub struct Pod {
    /// The pod's network namespace.
    pub ns: String,
    pub ip: String,
    /// Its interface.
    pub dev: String,
}

pub struct Cluster {
    bridge: String,
    pub pods: Vec<Pod>,
}

/// The address of pod `index`.
pub fn pod_ip(index: usize) -> String {
    format!("192.0.2.{}", 10 + index)
}

impl Cluster {
    pub fn new(pods: usize) -> Cluster {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let tag = format!("rmk{}{}", std::process::id() % 100_000, NEXT.fetch_add(1, Ordering::Relaxed));
        let bridge = format!("{tag}n");
        run(&["ip", "netns", "add", &bridge]);
        let mut cluster = Cluster { bridge, pods: Vec::new() };
        run(&["ip", "-n", &cluster.bridge, "link", "add", "br0", "type", "bridge"]);
        run(&["ip", "-n", &cluster.bridge, "link", "set", "br0", "up"]);
        for index in 0..pods {
            let pod = Pod { ns: format!("{tag}p{index}"), ip: pod_ip(index), dev: format!("{tag}e{index}") };
            let port = format!("{tag}b{index}");
            run(&["ip", "netns", "add", &pod.ns]);
            run(&["ip", "link", "add", &pod.dev, "netns", &pod.ns, "type", "veth", "peer", "name", &port, "netns", &cluster.bridge]);
            run(&["ip", "-n", &cluster.bridge, "link", "set", &port, "master", "br0"]);
            run(&["ip", "-n", &cluster.bridge, "link", "set", &port, "up"]);
            run(&["ip", "-n", &pod.ns, "addr", "add", &format!("{}/24", pod.ip), "dev", &pod.dev]);
            run(&["ip", "-n", &pod.ns, "link", "set", &pod.dev, "up"]);
            run(&["ip", "-n", &pod.ns, "link", "set", "lo", "up"]);
            cluster.pods.push(pod);
        }
        cluster
    }

    /// `args` run inside pod `index`'s namespace.
    pub fn exec(&self, index: usize, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.pods[index].ns]).args(args);
        c
    }
}

impl Drop for Cluster {
    /// Processes started with `exec` should be dropped first (`Logged` kills them).
    fn drop(&mut self) {
        for pod in &self.pods {
            let _ = Command::new("ip").args(["netns", "del", &pod.ns]).status();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.bridge]).status();
    }
}
