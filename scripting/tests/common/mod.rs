//! The harness of the script host's tests: a host on a temporary data directory whose
//! console lines are kept, and a real item.

#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use remora_model::Item;
use remora_scripting::{Clock, ConsoleLine, HostConfig, ScriptHost};

pub struct Harness {
    pub host: ScriptHost,
    pub lines: Rc<RefCell<Vec<ConsoleLine>>>,
    _dir: tempfile::TempDir,
}

impl Harness {
    pub fn new(configure: impl FnOnce(&mut HostConfig)) -> Harness {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = HostConfig::new(dir.path().join("data"));
        config.clock = Clock::Capture;
        config.call_budget = Duration::from_millis(100);
        config.memory_limit = 32 << 20;
        configure(&mut config);
        let lines = Rc::new(RefCell::new(Vec::new()));
        let sink = lines.clone();
        let host = ScriptHost::new(config, Box::new(move |line: ConsoleLine| sink.borrow_mut().push(line))).expect("host");
        Harness { host, lines, _dir: dir }
    }

    pub fn printed(&self) -> Vec<String> {
        self.lines.borrow().iter().map(|l| l.to_string()).collect()
    }

    pub fn data_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("data").canonicalize().expect("data dir")
    }
}

/// A real item (from http1__deepflow__httpv1.pcap) with its status changed to 500 and
/// its path to /a.
pub fn item() -> Item {
    serde_json::from_str(include_str!("../data/item-http-500.json")).expect("an item")
}

pub const ITEM: &str = include_str!("../data/item-http-500.json");

