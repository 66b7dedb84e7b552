//! The container's memory limit, from its cgroup, and what the scripts' JavaScript heap
//! may take under it: a leaking script must get an out-of-memory error in JavaScript,
//! never have the kernel kill the sidecar (which a native sidecar's app waits on).

use std::path::Path;

/// The scripts' heap when the container has no limit (or it cannot be read).
pub const DEFAULT_SCRIPT_HEAP: usize = 256 << 20;
/// Never less than this: smaller heaps fail ordinary scripts.
const MIN_SCRIPT_HEAP: usize = 16 << 20;

/// The memory limit of the cgroup the process runs in: cgroup v2's `memory.max`, else
/// v1's `memory.limit_in_bytes`; `None` when unlimited or unreadable.
pub fn container_limit(cgroup_root: &Path) -> Option<u64> {
    let read = |file: &str| std::fs::read_to_string(cgroup_root.join(file)).ok();
    let text = read("memory.max").or_else(|| read("memory/memory.limit_in_bytes"))?;
    let value: u64 = text.trim().parse().ok()?;
    // v1 writes "unlimited" as a page-rounded i64::MAX.
    (value < 1 << 60).then_some(value)
}

/// Half the container's limit at most (the capture, the dissectors and the outbox need
/// the rest), never above the default nor below 16 MiB.
pub fn script_heap(container_limit: Option<u64>) -> usize {
    match container_limit {
        None => DEFAULT_SCRIPT_HEAP,
        Some(limit) => usize::try_from(limit / 2).unwrap_or(usize::MAX).clamp(MIN_SCRIPT_HEAP, DEFAULT_SCRIPT_HEAP),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heap_stays_under_the_containers_limit() {
        let v2 = tempfile::tempdir().expect("tempdir");
        std::fs::write(v2.path().join("memory.max"), "268435456\n").expect("write");
        assert_eq!(container_limit(v2.path()), Some(256 << 20));
        assert_eq!(script_heap(container_limit(v2.path())), 128 << 20, "the chart's 256Mi limit");
        std::fs::write(v2.path().join("memory.max"), "max\n").expect("write");
        assert_eq!(container_limit(v2.path()), None);
        let v1 = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(v1.path().join("memory")).expect("mkdir");
        std::fs::write(v1.path().join("memory/memory.limit_in_bytes"), "9223372036854771712\n").expect("write");
        assert_eq!(container_limit(v1.path()), None, "v1's unlimited");
        assert_eq!(script_heap(None), DEFAULT_SCRIPT_HEAP);
        assert_eq!(script_heap(Some(1 << 30)), DEFAULT_SCRIPT_HEAP);
        assert_eq!(script_heap(Some(20 << 20)), 16 << 20);
    }
}
