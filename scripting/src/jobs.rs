//! The job scheduler behind `jobs.*`: cron schedules (6 fields, seconds first; 5 fields
//! mean seconds = 0), run limits, and a clock that is the capture's in replay (jobs fire
//! by packet timestamps, so offline runs are deterministic) and the wall clock live.
//! The hub will drive the same seam cluster-wide.

use std::collections::{BTreeMap, VecDeque};
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use rquickjs::{Function, Persistent, Value};

/// Whose time decides when jobs fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Packet timestamps (replay).
    Capture,
    /// The system clock (live).
    Wall,
}

/// Fire times a job may catch up on in one advance of the clock (a gap in a capture
/// would otherwise run an every-second job thousands of times).
const MAX_CATCH_UP: usize = 1000;

pub struct Job {
    pub tag: String,
    pub cron: String,
    schedule: cron::Schedule,
    pub task: Persistent<Function<'static>>,
    pub args: Vec<Persistent<Value<'static>>>,
    /// Runs allowed on this node; 0 is unlimited.
    pub limit: u64,
    pub runs: u64,
    /// The script that scheduled it.
    pub script: String,
    /// Next fire time, ns since the epoch; unset until the clock is known.
    next: Option<i64>,
}

#[derive(Default)]
pub struct Scheduler {
    pub jobs: BTreeMap<String, Job>,
    /// Runs asked for by `jobs.run`/`jobs.runAll`, done after the current call.
    pub requested: VecDeque<String>,
    pub stopped: bool,
    /// Fire times skipped because a capture gap exceeded the catch-up limit.
    pub skipped: u64,
}

/// Parses a cron expression as the scripting API uses it.
pub fn parse_cron(expr: &str) -> Result<cron::Schedule, String> {
    let fields = expr.split_whitespace().count();
    let six = match fields {
        5 => format!("0 {expr}"),
        6 | 7 => expr.to_string(),
        n => return Err(format!("cron {expr:?} has {n} fields; expected 6 (seconds first) or 5")),
    };
    cron::Schedule::from_str(&wide_steps(&six)).map_err(|e| format!("cron {expr:?}: {e}"))
}

/// The public implementation's parser (robfig/cron) accepts a step wider than its field
/// (`*/60` seconds) and fires at the range's start only; the cron crate refuses it. Such a
/// part becomes its start: `*/60` → `0`, `5/90` → `5`, `1-10/30` → `1`.
fn wide_steps(six: &str) -> String {
    // Seconds, minutes, hours, day of month, month, day of week (a year field is kept).
    const BOUNDS: [(u32, u32); 6] = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6)];
    let narrowed = |part: &str, (low, high): (u32, u32)| -> String {
        let Some((range, step)) = part.split_once('/') else { return part.to_string() };
        let Ok(step) = step.parse::<u32>() else { return part.to_string() };
        let (start, end) = match range {
            "*" | "?" => (low, high),
            r => match r.split_once('-') {
                Some((a, b)) => match (a.parse::<u32>(), b.parse::<u32>()) {
                    (Ok(a), Ok(b)) => (a, b),
                    _ => return part.to_string(),
                },
                None => match r.parse::<u32>() {
                    Ok(a) => (a, high),
                    Err(_) => return part.to_string(),
                },
            },
        };
        if step > end.saturating_sub(start) && start <= high {
            start.to_string()
        } else {
            part.to_string()
        }
    };
    six.split_whitespace()
        .enumerate()
        .map(|(i, field)| match BOUNDS.get(i) {
            Some(&bounds) => field.split(',').map(|part| narrowed(part, bounds)).collect::<Vec<_>>().join(","),
            None => field.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn datetime(ns: i64) -> DateTime<Utc> {
    Utc.timestamp_nanos(ns)
}

impl Scheduler {
    #[allow(clippy::too_many_arguments)]
    pub fn schedule(
        &mut self,
        tag: String,
        cron_text: String,
        task: Persistent<Function<'static>>,
        args: Vec<Persistent<Value<'static>>>,
        limit: u64,
        script: String,
        now: Option<i64>,
    ) -> Result<(), String> {
        let schedule = parse_cron(&cron_text)?;
        let next = now.and_then(|n| next_after(&schedule, n));
        self.jobs.insert(tag.clone(), Job { tag, cron: cron_text, schedule, task, args, limit, runs: 0, script, next });
        Ok(())
    }

    /// Forgets every job's next fire time (the clock starts over).
    pub fn reset(&mut self) {
        for job in self.jobs.values_mut() {
            job.next = None;
        }
    }

    /// Tags of the jobs due at `now`, once per fire time, in time order; moves each
    /// job's next fire time on.
    pub fn due(&mut self, now: i64) -> Vec<String> {
        if self.stopped {
            // Fire times pass while stopped; after a start, jobs go on from then.
            self.reset();
            return Vec::new();
        }
        let mut fires: Vec<(i64, String)> = Vec::new();
        for job in self.jobs.values_mut() {
            let Some(mut next) = job.next.or_else(|| next_after(&job.schedule, now - 1)) else { continue };
            let mut caught = 0;
            while next <= now {
                if caught == MAX_CATCH_UP {
                    self.skipped += 1;
                    next = next_after(&job.schedule, now).unwrap_or(i64::MAX);
                    break;
                }
                fires.push((next, job.tag.clone()));
                caught += 1;
                next = next_after(&job.schedule, next).unwrap_or(i64::MAX);
            }
            job.next = Some(next);
        }
        fires.sort();
        fires.into_iter().map(|(_, tag)| tag).collect()
    }
}

/// The first fire time strictly after `ns`.
fn next_after(schedule: &cron::Schedule, ns: i64) -> Option<i64> {
    schedule.after(&datetime(ns)).next().and_then(|t| t.timestamp_nanos_opt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_accepts_six_and_five_fields() {
        assert!(parse_cron("0 */1 * * * *").is_ok());
        assert!(parse_cron("*/5 * * * *").is_ok());
        assert!(parse_cron("* *").expect_err("2 fields").contains("2 fields"));
        assert!(parse_cron("61 * * * * *").is_err());
    }

    #[test]
    fn a_step_wider_than_its_field_fires_at_the_fields_start() {
        // As robfig/cron (the public implementation's) reads them.
        assert_eq!(wide_steps("*/60 * * * * *"), "0 * * * * *");
        assert_eq!(wide_steps("0 */90 5/30 */31 1-6/12 *"), "0 0 5 1 1 *");
        assert_eq!(wide_steps("*/59 */5,*/70 * * * *"), "*/59 */5,0 * * * *");
        let every_minute = parse_cron("*/60 * * * * *").expect("accepted");
        let start = Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 30).single().expect("time");
        let fires: Vec<String> = every_minute.after(&start).take(2).map(|t| t.format("%H:%M:%S").to_string()).collect();
        assert_eq!(fires, ["10:01:00", "10:02:00"]);
    }

    #[test]
    fn every_minute_over_ten_minutes_fires_ten_times() {
        let schedule = parse_cron("0 */1 * * * *").expect("cron");
        let start = 1_700_000_000_000_000_000i64; // not on a minute boundary
        let mut now = start;
        let mut fires = 0;
        let mut next = next_after(&schedule, now - 1);
        while now < start + 600 * 1_000_000_000 {
            while let Some(n) = next.filter(|n| *n <= now) {
                fires += 1;
                next = next_after(&schedule, n);
            }
            now += 1_000_000_000;
        }
        assert_eq!(fires, 10);
    }
}
