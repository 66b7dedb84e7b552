//! Prometheus metrics of the webhook. Every label takes values from a fixed set (the
//! outcome, the skip reason's code, the error kind), so the series count is bounded.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::review::Decision;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
    dry_run: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// Why a request was answered without a decision on a pod.
#[derive(Debug, Clone, Copy)]
pub enum ErrorKind {
    ContentType,
    TooLarge,
    Unreadable,
    Internal,
    NamespaceLookup,
}

impl ErrorKind {
    const ALL: [ErrorKind; 5] = [ErrorKind::ContentType, ErrorKind::TooLarge, ErrorKind::Unreadable, ErrorKind::Internal, ErrorKind::NamespaceLookup];

    fn label(self) -> &'static str {
        match self {
            ErrorKind::ContentType => "content_type",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Unreadable => "unreadable",
            ErrorKind::Internal => "internal",
            ErrorKind::NamespaceLookup => "namespace_lookup",
        }
    }
}

pub struct Metrics {
    registry: Registry,
    requests: Family<OutcomeLabels, Counter>,
    skips: Family<ReasonLabels, Counter>,
    errors: Family<KindLabels, Counter>,
    latency: Histogram,
    reloads: Family<ResultLabels, Counter>,
    cert_expiry: Gauge,
    native_sidecars: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("remora_injector");
        let requests = Family::<OutcomeLabels, Counter>::default();
        let skips = Family::<ReasonLabels, Counter>::default();
        let errors = Family::<KindLabels, Counter>::default();
        // 50 µs .. ~1.6 s
        let latency = Histogram::new(exponential_buckets(0.000_05, 2.0, 16));
        let reloads = Family::<ResultLabels, Counter>::default();
        let cert_expiry = Gauge::default();
        let native_sidecars = Gauge::default();
        registry.register(
            "native_sidecars",
            "1 when sidecar mode auto injects native sidecars (every kubelet runs them), 0 when classic",
            native_sidecars.clone(),
        );
        registry.register(
            "admissions",
            "Pod admission reviews answered, by outcome (injected, skipped, error)",
            requests.clone(),
        );
        registry.register("skips", "Pods left alone, by reason code", skips.clone());
        registry.register(
            "errors",
            "Requests answered without a decision, by kind",
            errors.clone(),
        );
        registry.register(
            "review_duration_seconds",
            "Time from a review's arrival to its answer",
            latency.clone(),
        );
        registry.register(
            "certificate_reloads",
            "Serving certificate loads, by result (loaded, failed)",
            reloads.clone(),
        );
        registry.register(
            "certificate_expiry_timestamp_seconds",
            "UNIX time at which the serving certificate in force expires",
            cert_expiry.clone(),
        );
        // Every series an alert or a dashboard panel reads exists from the start, at 0:
        // a series that appears only with the first error makes rate() blind to that error.
        for kind in ErrorKind::ALL {
            let _ = errors.get_or_create(&KindLabels { kind: kind.label() });
        }
        for outcome in ["injected", "skipped", "error"] {
            for dry_run in ["false", "true"] {
                let _ = requests.get_or_create(&OutcomeLabels { outcome, dry_run });
            }
        }
        for result in ["loaded", "failed"] {
            let _ = reloads.get_or_create(&ResultLabels { result });
        }
        Metrics {
            registry,
            requests,
            skips,
            errors,
            latency,
            reloads,
            cert_expiry,
            native_sidecars,
        }
    }
}

impl Metrics {
    pub fn review(&self, decision: Decision, dry_run: bool, seconds: f64) {
        let labels = OutcomeLabels {
            outcome: decision.outcome(),
            dry_run: if dry_run { "true" } else { "false" },
        };
        self.requests.get_or_create(&labels).inc();
        match decision {
            Decision::Skipped(reason) => {
                self.skips
                    .get_or_create(&ReasonLabels {
                        reason: reason.code(),
                    })
                    .inc();
            }
            Decision::Error => self.error(ErrorKind::Internal),
            Decision::Injected => {}
        }
        self.latency.observe(seconds);
    }

    pub fn error(&self, kind: ErrorKind) {
        self.errors
            .get_or_create(&KindLabels { kind: kind.label() })
            .inc();
    }

    pub fn reload(&self, ok: bool, not_after: Option<i64>) {
        let result = if ok { "loaded" } else { "failed" };
        self.reloads.get_or_create(&ResultLabels { result }).inc();
        if let Some(t) = not_after {
            self.cert_expiry.set(t);
        }
    }

    /// What `sidecar.mode: auto` injects now.
    pub fn native_sidecars(&self, native: bool) {
        self.native_sidecars.set(i64::from(native));
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
