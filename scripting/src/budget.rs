//! The time budget of one call into a script, in two parts: running JavaScript (the CPU
//! budget, enforced by QuickJS's interrupt handler) and waiting on the network inside
//! helpers (the network budget, enforced as each request's timeout). While a helper waits,
//! the CPU clock stops: a slow server does not get a script killed for "running" too long,
//! and a loop does not get more time because it also called a webhook.

use std::cell::Cell;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) struct Budget {
    /// Deadline of the running call, ns after `epoch`; 0 when none (read by the
    /// interrupt handler).
    deadline: Arc<AtomicI64>,
    epoch: Instant,
    pub cpu: Duration,
    pub network: Duration,
    /// What is left of the network budget in the running call.
    network_left: Cell<Duration>,
}

/// A network wait in progress: the CPU time the call had left when it began.
pub(crate) struct Wait {
    cpu_left: Option<Duration>,
    began: Instant,
    /// The longest the wait may take.
    pub timeout: Duration,
}

impl Budget {
    pub fn new(cpu: Duration, network: Duration) -> Budget {
        Budget { deadline: Arc::new(AtomicI64::new(0)), epoch: Instant::now(), cpu, network, network_left: Cell::new(network) }
    }

    /// What the interrupt handler asks: has the running call used up its CPU budget?
    pub fn interrupter(&self) -> impl Fn() -> bool + Send + 'static {
        let deadline = self.deadline.clone();
        let epoch = self.epoch;
        move || {
            let until = deadline.load(Ordering::Relaxed);
            until != 0 && epoch.elapsed().as_nanos() as i64 > until
        }
    }

    /// A call begins: both budgets start full.
    pub fn arm(&self) {
        self.set_deadline(Some(self.cpu));
        self.network_left.set(self.network);
    }

    pub fn disarm(&self) {
        self.set_deadline(None);
    }

    fn set_deadline(&self, from_now: Option<Duration>) {
        let until = from_now.map_or(0, |d| (self.epoch.elapsed() + d).as_nanos().max(1) as i64);
        self.deadline.store(until, Ordering::Relaxed);
    }

    /// Stops the CPU clock for a network wait of at most `limit` (the helper's own cap),
    /// or says that the call's network budget is spent.
    pub fn begin_wait(&self, limit: Duration) -> Result<Wait, String> {
        let left = self.network_left.get();
        if left.is_zero() {
            return Err(format!("this call's network budget ({} s) is spent; the request was not sent", self.network.as_secs_f32()));
        }
        let until = self.deadline.load(Ordering::Relaxed);
        let cpu_left = (until != 0).then(|| Duration::from_nanos(until.saturating_sub(self.epoch.elapsed().as_nanos() as i64).max(0) as u64));
        self.set_deadline(None);
        Ok(Wait { cpu_left, began: Instant::now(), timeout: left.min(limit) })
    }

    /// The wait is over: its time comes off the network budget; the CPU clock runs on.
    pub fn end_wait(&self, wait: Wait) {
        self.network_left.set(self.network_left.get().saturating_sub(wait.began.elapsed()));
        self.set_deadline(wait.cpu_left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_stops_the_cpu_clock_and_spends_the_network_budget() {
        let budget = Budget::new(Duration::from_millis(100), Duration::from_millis(60));
        let over = budget.interrupter();
        budget.arm();
        let wait = budget.begin_wait(Duration::from_secs(10)).expect("budget left");
        assert_eq!(wait.timeout, Duration::from_millis(60), "capped by the network budget, not the helper's 10 s");
        std::thread::sleep(Duration::from_millis(110));
        assert!(!over(), "the CPU clock is stopped during the wait");
        budget.end_wait(wait);
        assert!(!over(), "the CPU budget resumes with what it had left");
        let spent = budget.begin_wait(Duration::from_secs(10)).err().expect("spent");
        assert!(spent.contains("network budget (0.06 s) is spent"), "{spent}");
        std::thread::sleep(Duration::from_millis(110));
        assert!(over(), "running JavaScript still runs out of CPU budget");
        budget.arm();
        assert!(budget.begin_wait(Duration::from_secs(1)).is_ok(), "the next call starts with a full network budget");
    }
}
