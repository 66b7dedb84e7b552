//! The metrics scripts define with `prometheus.metric` and `prometheus.vector`, kept
//! for the process's /metrics (the sidecar's health server, the hub's API) and for the
//! replay's summary. Shared between the script thread and the HTTP server: a mutex
//! around plain maps, rendered as Prometheus text (format 0.0.4, as the rest of each
//! /metrics). Bounded, since the sidecar runs in every pod: at most [`MAX_METRICS`]
//! names, [`MAX_SERIES`] label sets per name and [`MAX_TOTAL_SERIES`] in all, with short
//! names, few labels and cut values (a few MiB at worst); a label set past a cap is
//! dropped and counted in `remora_script_metric_series_dropped_total{metric="..."}`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

/// Metric names a process's scripts may define.
pub const MAX_METRICS: usize = 256;
/// Label sets (series) one metric may have.
pub const MAX_SERIES: usize = 1000;
/// Label sets all the metrics of a process may have together.
pub const MAX_TOTAL_SERIES: usize = 10_000;
/// Labels one series may have.
const MAX_LABELS: usize = 8;
/// Longest label value kept (longer ones are cut, on a character boundary).
const MAX_VALUE_LEN: usize = 128;
/// Longest metric or label name.
const MAX_NAME_LEN: usize = 128;
/// Longest description kept (cut past it).
const MAX_HELP_LEN: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Type 1: `value` is added.
    Counter,
    /// Type 2: `value` is set.
    Gauge,
}

impl Kind {
    pub fn from_code(code: f64) -> Option<Kind> {
        if code == 1.0 {
            Some(Kind::Counter)
        } else if code == 2.0 {
            Some(Kind::Gauge)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

type Labels = Vec<(String, String)>;

#[derive(Debug)]
struct Family {
    help: String,
    kind: Kind,
    series: BTreeMap<Labels, f64>,
    /// Label sets refused because `series` was full.
    dropped: u64,
}

#[derive(Debug, Default)]
struct Families {
    by_name: BTreeMap<String, Family>,
    /// Series of all the metrics.
    series: usize,
}

/// What an update did.
#[derive(Debug, PartialEq, Eq)]
pub enum Recorded {
    Done,
    /// The label set was new and the metric had [`MAX_SERIES`] already (or the process
    /// [`MAX_TOTAL_SERIES`]): dropped, counted.
    /// `first` is true the first time this metric hits the cap (worth one console line).
    Capped { first: bool },
}

/// The scripts' metrics of one process; clones share them.
#[derive(Debug, Clone, Default)]
pub struct ScriptMetrics(Arc<Mutex<Families>>);

impl ScriptMetrics {
    pub fn new() -> ScriptMetrics {
        ScriptMetrics::default()
    }

    fn families(&self) -> std::sync::MutexGuard<'_, Families> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds (counter) or sets (gauge) `value` for one label set. Errors name the bad
    /// input: an invalid metric or label name, a reserved name, another type than the
    /// metric was made with, a value that is not finite, a counter going down.
    pub fn record(&self, name: &str, help: &str, kind: Kind, value: f64, labels: Labels) -> Result<Recorded, String> {
        check_metric_name(name)?;
        if !value.is_finite() {
            return Err(format!("the value of {name} must be a finite number, not {value}"));
        }
        if kind == Kind::Counter && value < 0.0 {
            return Err(format!("{name} is a counter: it only goes up (value {value})"));
        }
        if labels.len() > MAX_LABELS {
            return Err(format!("{name}: {} labels; at most {MAX_LABELS}", labels.len()));
        }
        let mut labels: Labels = labels.into_iter().map(|(k, v)| (k, cut(v, MAX_VALUE_LEN))).collect();
        for (key, _) in &labels {
            check_label_name(name, key)?;
        }
        labels.sort();
        let mut families = self.families();
        let (count, total) = (families.by_name.len(), families.series);
        let family = match families.by_name.get_mut(name) {
            Some(family) => family,
            None if count >= MAX_METRICS => return Err(format!("{name}: the scripts already define {MAX_METRICS} metrics, the most a process keeps")),
            None => families.by_name.entry(name.to_string()).or_insert_with(|| Family { help: cut(help.to_string(), MAX_HELP_LEN), kind, series: BTreeMap::new(), dropped: 0 }),
        };
        if family.kind != kind {
            return Err(format!("{name} is a {}, not a {}", family.kind.name(), kind.name()));
        }
        let full = family.series.len() >= MAX_SERIES || total >= MAX_TOTAL_SERIES;
        match family.series.get_mut(&labels) {
            Some(current) => match kind {
                Kind::Counter => *current += value,
                Kind::Gauge => *current = value,
            },
            None if full => {
                family.dropped += 1;
                return Ok(Recorded::Capped { first: family.dropped == 1 });
            }
            None => {
                family.series.insert(labels, value);
                families.series += 1;
            }
        }
        Ok(Recorded::Done)
    }

    /// The metrics as Prometheus text (empty when there are none).
    pub fn render(&self) -> String {
        let families = self.families();
        let mut out = String::new();
        for (name, family) in &families.by_name {
            let _ = writeln!(out, "# HELP {name} {}", escape_help(&family.help));
            let _ = writeln!(out, "# TYPE {name} {}", family.kind.name());
            for (labels, value) in &family.series {
                let _ = writeln!(out, "{name}{} {value}", label_text(labels));
            }
        }
        let capped: Vec<(&String, u64)> = families.by_name.iter().filter(|(_, f)| f.dropped > 0).map(|(n, f)| (n, f.dropped)).collect();
        if !capped.is_empty() {
            out.push_str("# HELP remora_script_metric_series_dropped_total Label sets of a script metric dropped at the cap (1000 per metric, 10000 in all)\n");
            out.push_str("# TYPE remora_script_metric_series_dropped_total counter\n");
            for (name, dropped) in capped {
                let _ = writeln!(out, "remora_script_metric_series_dropped_total{{metric=\"{name}\"}} {dropped}");
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.families().by_name.is_empty()
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, as Prometheus defines metric names; `remora_` is the
/// processes' own.
fn check_metric_name(name: &str) -> Result<(), String> {
    let valid = name.chars().enumerate().all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()));
    if name.len() > MAX_NAME_LEN {
        return Err(format!("a metric name is at most {MAX_NAME_LEN} characters ({:?}... is {})", name.chars().take(16).collect::<String>(), name.len()));
    }
    if name.is_empty() || !valid {
        return Err(format!("{name:?} is not a metric name (letters, digits, _ and :, not starting with a digit)"));
    }
    if name.starts_with("remora_") {
        return Err(format!("{name:?}: names starting with remora_ are Remora's own metrics"));
    }
    Ok(())
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved by Prometheus).
fn check_label_name(metric: &str, label: &str) -> Result<(), String> {
    let valid = label.chars().enumerate().all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit()));
    if label.len() > MAX_NAME_LEN {
        return Err(format!("{metric}: a label name is at most {MAX_NAME_LEN} characters ({:?}... is {})", label.chars().take(16).collect::<String>(), label.len()));
    }
    if label.is_empty() || !valid || label.starts_with("__") {
        return Err(format!("{metric}: {label:?} is not a label name (letters, digits and _, not starting with a digit or __)"));
    }
    Ok(())
}

fn cut(mut value: String, max: usize) -> String {
    let end = (0..=max.min(value.len())).rev().find(|i| value.is_char_boundary(*i)).unwrap_or(0);
    value.truncate(end);
    value
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

fn label_text(labels: &Labels) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"))).collect();
    format!("{{{}}}", pairs.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Labels {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn counters_add_gauges_set_and_text_is_prometheus() {
        let metrics = ScriptMetrics::new();
        metrics.record("http_requests", "HTTP requests by status", Kind::Counter, 1.0, pairs(&[("status", "200")])).expect("ok");
        metrics.record("http_requests", "ignored", Kind::Counter, 2.0, pairs(&[("status", "200")])).expect("ok");
        metrics.record("queue", "Depth\nnow", Kind::Gauge, 5.0, vec![]).expect("ok");
        metrics.record("queue", "", Kind::Gauge, 3.5, vec![]).expect("ok");
        metrics.record("http_requests", "", Kind::Counter, 1.0, pairs(&[("status", "a\"b\\c")])).expect("ok");
        assert_eq!(
            metrics.render(),
            "# HELP http_requests HTTP requests by status\n# TYPE http_requests counter\nhttp_requests{status=\"200\"} 3\nhttp_requests{status=\"a\\\"b\\\\c\"} 1\n\
             # HELP queue Depth\\nnow\n# TYPE queue gauge\nqueue 3.5\n"
        );
    }

    #[test]
    fn bad_input_is_refused_by_name() {
        let metrics = ScriptMetrics::new();
        let err = |name: &str, kind: Kind, value: f64, labels: Labels| metrics.record(name, "", kind, value, labels).expect_err(name);
        assert!(err("9lives", Kind::Gauge, 1.0, vec![]).contains("\"9lives\" is not a metric name"));
        assert!(err("a-b", Kind::Gauge, 1.0, vec![]).contains("\"a-b\""));
        assert!(err("remora_x", Kind::Gauge, 1.0, vec![]).contains("Remora's own"));
        assert!(err("x", Kind::Gauge, f64::NAN, vec![]).contains("finite"));
        assert!(err("x", Kind::Counter, -1.0, vec![]).contains("only goes up"));
        assert!(err("x", Kind::Gauge, 1.0, pairs(&[("bad-label", "v")])).contains("\"bad-label\" is not a label name"));
        assert!(err("x", Kind::Gauge, 1.0, pairs(&[("__name", "v")])).contains("\"__name\""));
        metrics.record("y", "", Kind::Gauge, 1.0, vec![]).expect("gauge");
        assert!(err("y", Kind::Counter, 1.0, vec![]).contains("y is a gauge, not a counter"));
    }

    #[test]
    fn series_and_names_are_bounded_and_the_cap_is_counted() {
        let metrics = ScriptMetrics::new();
        for n in 0..MAX_SERIES + 5 {
            let recorded = metrics.record("by_path", "", Kind::Counter, 1.0, pairs(&[("path", &format!("/{n}"))])).expect("ok");
            let want = match n {
                n if n < MAX_SERIES => Recorded::Done,
                n if n == MAX_SERIES => Recorded::Capped { first: true },
                _ => Recorded::Capped { first: false },
            };
            assert_eq!(recorded, want, "{n}");
        }
        // A known label set still counts; a long value is cut on a character boundary.
        let long = "é".repeat(200);
        metrics.record("by_path", "", Kind::Counter, 1.0, pairs(&[("path", "/1")])).expect("ok");
        assert_eq!(cut(long, MAX_VALUE_LEN).len(), 128);
        assert_eq!(cut("short".into(), MAX_VALUE_LEN), "short");
        metrics.record("by_path", "", Kind::Counter, 1.0, pairs(&[("path", "/0")])).expect("ok");
        let text = metrics.render();
        assert!(text.contains("by_path{path=\"/0\"} 2\n"), "{text}");
        assert!(text.ends_with("remora_script_metric_series_dropped_total{metric=\"by_path\"} 5\n"), "{text}");
        for n in 1..MAX_METRICS {
            metrics.record(&format!("m{n}"), "", Kind::Gauge, 1.0, vec![]).expect("ok");
        }
        assert!(metrics.record("one_more", "", Kind::Gauge, 1.0, vec![]).expect_err("cap").contains("256 metrics"));
        assert!(metrics.record(&"x".repeat(200), "", Kind::Gauge, 1.0, vec![]).expect_err("long").contains("at most 128 characters"));
        assert!(metrics.record("x", "", Kind::Gauge, 1.0, pairs(&[(&"é".repeat(100), "v")])).expect_err("long label").contains("at most 128 characters"));
    }

    #[test]
    fn all_metrics_together_keep_at_most_the_total_series() {
        let metrics = ScriptMetrics::new();
        for n in 0..MAX_TOTAL_SERIES {
            let metric = format!("m{}", n / MAX_SERIES);
            assert_eq!(metrics.record(&metric, "", Kind::Gauge, 1.0, pairs(&[("n", &n.to_string())])), Ok(Recorded::Done));
        }
        assert_eq!(metrics.record("m_last", "", Kind::Gauge, 1.0, pairs(&[("n", "0")])), Ok(Recorded::Capped { first: true }));
        assert!(metrics.render().ends_with("remora_script_metric_series_dropped_total{metric=\"m_last\"} 1\n"));
    }
}
