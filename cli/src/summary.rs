//! The closing summary of `remora replay`, printed on stderr.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use remora_scripting::HostReport;
use remora_sidecar::pcap_store::PcapStoreStats;
use remora_sidecar::pipeline::PipelineStats;

/// The line before the scripts' metrics (Prometheus text) at the end of the summary.
pub const METRICS_HEADING: &str = "scripts: metrics (prometheus.*) at the end of the capture:";

pub struct Summary<'a> {
    /// The first words: `replayed 5 file(s)`, `captured on eth0 for 3.0 s`.
    pub what: String,
    /// Lines after the first (a live capture's kernel drop counters).
    pub more: Vec<String>,
    pub elapsed: Duration,
    pub stats: PipelineStats,
    /// The per-stream PCAP store's counts and first error.
    pub pcap: Option<(PcapStoreStats, Option<String>)>,
    pub pcap_dir: Option<&'a Path>,
    /// The scripts' report and data directory (none when it was left empty and removed),
    /// when scripts ran.
    pub scripts: Option<(HostReport, Option<&'a Path>)>,
    /// Items that matched `--kfl`, and the query.
    pub matched: Option<(u64, &'a str)>,
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        writeln!(
            f,
            "{}: {} packets, {} bytes in {:.2}s ({:.0} packets/s, {:.1} MB/s)",
            self.what,
            s.packets,
            s.bytes,
            secs,
            s.packets as f64 / secs,
            s.bytes as f64 / secs / 1e6
        )?;
        for line in &self.more {
            writeln!(f, "{line}")?;
        }
        let total: u64 = s.items.values().sum();
        let per_protocol: Vec<String> = s.items.iter().map(|(p, n)| format!("{p} {n}")).collect();
        writeln!(f, "items: {total} ({}), {} without a response", if per_protocol.is_empty() { "none".into() } else { per_protocol.join(", ") }, s.unanswered)?;
        if s.redacted_values > 0 {
            writeln!(f, "redacted: {} values", s.redacted_values)?;
        }
        if let Some((matched, query)) = self.matched {
            writeln!(f, "kfl: {matched} of {total} items match {query:?}")?;
        }
        writeln!(
            f,
            "flows: {} tcp, {} udp, {} icmp; {} unrecognised, {} closed idle, {} closed at the flow cap",
            s.tcp_flows, s.udp_flows, s.icmp_flows, s.unrecognised_flows, s.idle_flows_closed, s.flow_cap_hits
        )?;
        let parse: Vec<String> = s.dissect.iter().map(|(p, d)| format!("{p} {}", d.parse_errors)).collect();
        let truncated: u64 = s.dissect.values().map(|d| d.truncated_bodies).sum();
        let overflows: u64 = s.dissect.values().map(|d| d.pending_overflows).sum();
        writeln!(
            f,
            "parse errors: {}; bodies truncated: {truncated}; dropped at the pending cap: {overflows}",
            if parse.is_empty() { "0".into() } else { parse.join(", ") }
        )?;
        let r = &s.reassembly;
        writeln!(
            f,
            "reassembly: {} out of order, {} retransmitted, {} overlapping, {} gaps ({} bytes), buffer caps hit {} per stream / {} total",
            r.out_of_order_segments, r.retransmitted_segments, r.overlapping_segments, r.gaps, r.gap_bytes, r.stream_cap_hits, r.total_cap_hits
        )?;
        writeln!(
            f,
            "skipped packets: {} malformed, {} not IP, {} other transport ({} IP fragments), {} out of window",
            s.malformed_packets, s.non_ip_packets, s.other_transport_packets, s.ip_fragments, r.out_of_window_segments
        )?;
        if let (Some((stats, error)), Some(dir)) = (&self.pcap, self.pcap_dir) {
            write!(f, "pcap: {} files, {} packets in {}", stats.files, stats.packets, dir.display())?;
            if stats.write_errors > 0 {
                write!(f, "; {} packets not written ({})", stats.write_errors, error.as_deref().unwrap_or("unknown error"))?;
            }
            writeln!(f)?;
        }
        if let Some((report, data_dir)) = &self.scripts {
            let failures: u64 = report.failures.iter().map(|f| f.count).sum();
            writeln!(
                f,
                "scripts: {} loaded, {} hook calls, {} job runs, {} failures ({} distinct), {}",
                report.scripts,
                report.hook_calls,
                report.job_runs,
                failures,
                report.failures.len(),
                data_dir.map_or("no files written".to_string(), |d| format!("data directory {}", d.display()))
            )?;
            if report.skipped_fires > 0 {
                writeln!(f, "scripts: {} job fire times skipped over long gaps in the capture", report.skipped_fires)?;
            }
            // Offline there is no /metrics to scrape: the scripts' metrics end the summary,
            // as a scrape at the end of the capture would show them.
            if !report.metrics.is_empty() {
                writeln!(f, "{METRICS_HEADING}")?;
                f.write_str(&report.metrics)?;
            }
        }
        Ok(())
    }
}
