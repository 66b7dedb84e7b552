//! `setTimeout`/`setInterval` on the script's own clock (capture time in replay, wall time
//! live): callbacks run when the host's clock passes their time, in the script's scope and
//! under the same budgets as hooks (host.rs). Bounded: a script cannot keep more than
//! `MAX_TIMERS` waiting, and one advance of the clock fires at most `MAX_FIRES_PER_ADVANCE`.

use std::collections::BTreeMap;

use rquickjs::{Function, Persistent, Value};

/// Timers waiting at once.
pub const MAX_TIMERS: usize = 10_000;
/// Callbacks one advance of the clock runs (an interval of 0 would otherwise spin).
pub const MAX_FIRES_PER_ADVANCE: usize = 1000;
/// The shortest interval (browsers clamp nested timers to 4 ms).
const MIN_INTERVAL_NS: i64 = 1_000_000;

pub struct Timer {
    pub callback: Persistent<Function<'static>>,
    pub args: Vec<Persistent<Value<'static>>>,
    /// The script that set it.
    pub script: String,
    /// `setInterval`'s period.
    pub every_ns: Option<i64>,
    delay_ns: i64,
    /// When it fires, ns since the epoch; unset until the clock is known (set at load).
    due: Option<i64>,
}

#[derive(Default)]
pub struct Timers {
    next_id: u32,
    waiting: BTreeMap<u32, Timer>,
    /// The timer whose callback runs, and whether that callback cleared it.
    running: Option<(u32, bool)>,
}

impl Timers {
    /// Adds a timer `delay_ns` from `now` (or from the clock's first time); its id.
    pub fn set(&mut self, callback: Persistent<Function<'static>>, args: Vec<Persistent<Value<'static>>>, delay_ns: i64, repeat: bool, script: String, now: Option<i64>) -> Result<u32, String> {
        if self.waiting.len() >= MAX_TIMERS {
            return Err(format!("{MAX_TIMERS} timers are waiting already; clear some (clearTimeout, clearInterval)"));
        }
        let delay_ns = delay_ns.max(0);
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let id = self.next_id;
        let every_ns = repeat.then_some(delay_ns.max(MIN_INTERVAL_NS));
        self.waiting.insert(id, Timer { callback, args, script, every_ns, delay_ns, due: now.map(|n| n.saturating_add(delay_ns)) });
        Ok(id)
    }

    pub fn clear(&mut self, id: u32) {
        self.waiting.remove(&id);
        if let Some((running, cleared)) = &mut self.running {
            *cleared |= *running == id;
        }
    }

    /// The next timer due at `now`, taken out (an interval is put back for its next time by
    /// `reschedule`); None when none is due.
    pub fn take_due(&mut self, now: i64) -> Option<(u32, Timer)> {
        for timer in self.waiting.values_mut().filter(|t| t.due.is_none()) {
            timer.due = Some(now.saturating_add(timer.delay_ns));
        }
        let (&id, _) = self.waiting.iter().filter(|(_, t)| t.due.is_some_and(|d| d <= now)).min_by_key(|(id, t)| (t.due, **id))?;
        self.running = Some((id, false));
        self.waiting.remove(&id).map(|t| (id, t))
    }

    /// Puts an interval back, one period after the time it was due (missed periods are
    /// dropped, as a ticker drops them).
    pub fn reschedule(&mut self, id: u32, mut timer: Timer, now: i64) {
        let cleared = self.running.take().is_some_and(|(running, cleared)| running == id && cleared);
        let Some(every) = timer.every_ns.filter(|_| !cleared) else { return };
        let next = timer.due.unwrap_or(now).saturating_add(every);
        timer.due = Some(if next <= now { now.saturating_add(every) } else { next });
        self.waiting.insert(id, timer);
    }

    pub fn forget_clock(&mut self) {
        for timer in self.waiting.values_mut() {
            timer.due = None;
        }
    }
}
