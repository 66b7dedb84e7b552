//! Capture filters are checked by compiling them with libpcap, the same compiler the
//! sidecar uses, so a filter the sidecar would refuse never reaches it.
//!
//! libpcap's optimiser can take seconds on a long filter (`port 1 or port 2 or ...`), and
//! the webhook answers within the API server's timeout: compiles run on a thread of their
//! own, a filter that does not compile within [`DEADLINE`] is refused (the pod is admitted
//! with the default filter and a warning), and results are cached, so a Deployment's
//! replicas pay once.

use std::collections::HashMap;
use std::sync::{mpsc, LazyLock, Mutex};
use std::time::Duration;

/// Longest filter accepted; real filters are a line or two.
pub const MAX_FILTER_LEN: usize = 4096;
/// Longest a compile may take before the filter is refused.
pub const DEADLINE: Duration = Duration::from_millis(500);
/// Results kept (filters differ per workload, not per pod).
const CACHE: usize = 1024;

// libpcap's compiler keeps global parser state in older releases; one at a time.
static COMPILER: Mutex<()> = Mutex::new(());
static RESULTS: LazyLock<Mutex<Results>> = LazyLock::new(Default::default);

/// Compiled filters' results, and the filters being compiled now (one compile each,
/// however many pods ask meanwhile).
#[derive(Default)]
struct Results {
    done: HashMap<String, Result<(), String>>,
    pending: std::collections::HashSet<String>,
}

fn results() -> std::sync::MutexGuard<'static, Results> {
    RESULTS.lock().unwrap_or_else(|p| p.into_inner())
}

/// `Ok` when libpcap compiles `filter` for an Ethernet capture within [`DEADLINE`], else
/// why not.
pub fn check(filter: &str) -> Result<(), String> {
    check_within(filter, DEADLINE)
}

fn check_within(filter: &str, deadline: Duration) -> Result<(), String> {
    if filter.len() > MAX_FILTER_LEN {
        return Err(format!("the filter is {} bytes long; at most {MAX_FILTER_LEN} are accepted", filter.len()));
    }
    if filter.contains('\0') {
        return Err("the filter contains a NUL byte".into());
    }
    let (done, result) = mpsc::channel();
    {
        let mut known = results();
        if let Some(answer) = known.done.get(filter) {
            return answer.clone();
        }
        if !known.pending.insert(filter.to_string()) {
            // Another admission compiles it now: wait for its answer, within the deadline.
            drop(known);
            return wait_for_pending(filter, deadline);
        }
    }
    let text = filter.to_string();
    let spawned = std::thread::Builder::new().name("bpf-compile".into()).spawn(move || {
        let result = compile(&text);
        let mut known = results();
        if known.done.len() >= CACHE {
            known.done.clear();
        }
        known.pending.remove(&text);
        known.done.insert(text, result.clone());
        let _ = done.send(result);
    });
    if let Err(e) = spawned {
        results().pending.remove(filter);
        return Err(format!("no thread to compile it on ({e})"));
    }
    match result.recv_timeout(deadline) {
        Ok(result) => result,
        // The compile goes on and its result is cached: the same filter is answered at once
        // next time.
        Err(_) => Err(too_slow(deadline)),
    }
}

/// The answer of a compile another caller started, once it is there (or too slow).
fn wait_for_pending(filter: &str, deadline: Duration) -> Result<(), String> {
    let start = std::time::Instant::now();
    loop {
        if let Some(answer) = results().done.get(filter) {
            return answer.clone();
        }
        if start.elapsed() >= deadline {
            return Err(too_slow(deadline));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn too_slow(deadline: Duration) -> String {
    format!("libpcap takes longer than {} ms to compile it; use a shorter filter", deadline.as_millis())
}

fn compile(filter: &str) -> Result<(), String> {
    let _guard = COMPILER.lock().unwrap_or_else(|p| p.into_inner());
    let capture = pcap::Capture::dead(pcap::Linktype::ETHERNET).map_err(|e| format!("libpcap could not start its compiler: {e}"))?;
    capture.compile(filter, true).map(|_| ()).map_err(|e| format!("libpcap rejects it: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_at_once_share_one_compile_and_its_answer() {
        let filter = "tcp port 8081 or udp port 5353";
        let answers: Vec<Result<(), String>> = std::thread::scope(|scope| {
            let callers: Vec<_> = (0..8).map(|_| scope.spawn(|| check(filter))).collect();
            callers.into_iter().map(|c| c.join().expect("caller")).collect()
        });
        assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    }

    #[test]
    fn libpcap_decides() {
        assert!(check("tcp port 80 or udp port 53").is_ok());
        assert!(check("").is_ok());
        let err = check("tcp port eighty").expect_err("bad filter");
        assert!(err.contains("libpcap rejects it"), "{err}");
        assert!(check(&"tcp or ".repeat(1000)).is_err());
    }

    #[test]
    fn a_filter_too_slow_to_compile_is_refused_and_its_result_kept() {
        // Hundreds of terms: libpcap's optimiser takes far longer than a microsecond.
        let slow: String = (1..120).map(|p| format!("port {p}")).collect::<Vec<_>>().join(" or ");
        assert!(slow.len() <= MAX_FILTER_LEN);
        let err = check_within(&slow, Duration::from_micros(1)).expect_err("refused");
        assert!(err.contains("takes longer than 0 ms"), "{err}");
        // Once the compile has finished, the answer is libpcap's, at once.
        let mut answer = check_within(&slow, Duration::from_micros(1));
        for _ in 0..600 {
            if answer.is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
            answer = check_within(&slow, Duration::from_micros(1));
        }
        assert_eq!(answer, Ok(()), "the cached result of the compile that went on");
    }
}
