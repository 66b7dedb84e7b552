//! The hub's name resolution as the sidecar keeps it: address → (name, namespace) now,
//! for the items' `src.name`/`dst.name`, and the history of changes for
//! `pcap.nameResolutionHistory()` (UNIX seconds → every address's name as of then).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use remora_model::wire::NameInfo;
use remora_scripting::NameHistory;

use crate::pipeline::NameLookup;

/// Points in the history kept (each a full map): a pod churning all day must not grow
/// the sidecar's memory.
const HISTORY: usize = 32;

#[derive(Default)]
pub struct LiveNames {
    current: RwLock<HashMap<IpAddr, (String, String)>>,
    history: RwLock<NameHistory>,
    /// Bumped on every change, so the scripts' copy of the history is renewed only then.
    version: AtomicU64,
}

impl LiveNames {
    /// Applies a `names` frame from the hub.
    pub fn apply(&self, at: i64, full: bool, names: BTreeMap<String, Option<NameInfo>>) {
        let snapshot = {
            let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
            if full {
                current.clear();
            }
            for (ip, name) in names {
                let Ok(ip) = ip.parse::<IpAddr>() else { continue };
                match name {
                    Some(n) => current.insert(ip, (n.name, n.namespace)),
                    None => current.remove(&ip),
                };
            }
            current.iter().map(|(ip, n)| (ip.to_string(), n.clone())).collect::<BTreeMap<_, _>>()
        };
        let mut history = self.history.write().unwrap_or_else(|p| p.into_inner());
        history.insert(at, snapshot);
        while history.len() > HISTORY {
            history.pop_first();
        }
        self.version.fetch_add(1, Ordering::Release);
    }

    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// `pcap.nameResolutionHistory()`'s map.
    pub fn history(&self) -> NameHistory {
        self.history.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl NameLookup for LiveNames {
    fn lookup(&self, ip: IpAddr) -> Option<(String, String)> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).get(&ip).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str) -> Option<NameInfo> {
        Some(NameInfo { name: name.into(), namespace: "shop".into(), kind: "Pod".into() })
    }

    #[test]
    fn full_then_changes_and_a_bounded_history() {
        let names = LiveNames::default();
        names.apply(100, true, BTreeMap::from([("10.0.0.1".to_string(), info("a")), ("10.0.0.2".to_string(), info("b"))]));
        assert_eq!(names.lookup("10.0.0.1".parse().expect("ip")), Some(("a".into(), "shop".into())));
        names.apply(101, false, BTreeMap::from([("10.0.0.1".to_string(), None), ("not an ip".to_string(), info("x"))]));
        assert_eq!(names.lookup("10.0.0.1".parse().expect("ip")), None);
        let history = names.history();
        assert_eq!(history[&100].len(), 2);
        assert_eq!(history[&101].keys().collect::<Vec<_>>(), ["10.0.0.2"]);
        for at in 200..300 {
            names.apply(at, false, BTreeMap::new());
        }
        assert_eq!(names.history().len(), HISTORY);
        assert_eq!(names.version(), 102);
    }
}
