//! How the API server's calls to a webhook went, from its own metrics (`GET /metrics`):
//! the injector only sees the calls that reach it, while a call that times out or cannot
//! connect (a firewall between the control plane and the nodes, as on GKE private
//! clusters) shows only here, as a fail-open with `failurePolicy: Ignore` or a
//! `calling_webhook_error` rejection with `Fail`.

/// One webhook's calls since that API server started.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Calls {
    pub total: f64,
    /// Calls that failed (timed out, could not connect): with failurePolicy Fail the pod
    /// was refused, with Ignore admitted without the webhook (`failed_open` of them).
    pub call_errors: f64,
    pub failed_open: f64,
    /// Calls that took longer than `slow_seconds`.
    pub slow: f64,
    pub slow_seconds: f64,
}

fn label_is(sample: &prometheus_parse::Sample, name: &str, value: &str) -> bool {
    sample.labels.get(name) == Some(value)
}

fn scalar(value: &prometheus_parse::Value) -> f64 {
    match value {
        prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => *v,
        _ => 0.0,
    }
}

/// The calls to `webhook` in a scrape of the API server's metrics; None when it has
/// none of the webhook metrics (an API server that was never asked, or too old).
pub fn calls(metrics_text: &str, webhook: &str, slow_seconds: f64) -> Option<Calls> {
    let scrape = prometheus_parse::Scrape::parse(metrics_text.lines().map(|l| Ok(l.to_string()))).ok()?;
    let mut calls = Calls { slow_seconds, ..Calls::default() };
    let mut seen = false;
    for sample in scrape.samples.iter().filter(|s| label_is(s, "name", webhook)) {
        match sample.metric.as_str() {
            "apiserver_admission_webhook_request_total" => {
                seen = true;
                calls.total += scalar(&sample.value);
            }
            "apiserver_admission_webhook_fail_open_count" => calls.failed_open += scalar(&sample.value),
            "apiserver_admission_webhook_rejection_count" if label_is(sample, "error_type", "calling_webhook_error") => calls.call_errors += scalar(&sample.value),
            "apiserver_admission_webhook_admission_duration_seconds" => {
                if let prometheus_parse::Value::Histogram(buckets) = &sample.value {
                    // Calls over the largest bucket bound not above `slow_seconds`.
                    let all = buckets.iter().map(|b| b.count).fold(0.0, f64::max);
                    let within = buckets.iter().filter(|b| b.less_than <= slow_seconds).map(|b| b.count).fold(0.0, f64::max);
                    calls.slow += all - within;
                }
            }
            _ => {}
        }
    }
    seen.then_some(calls)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# TYPE apiserver_admission_webhook_request_total counter
apiserver_admission_webhook_request_total{code="200",name="inject.remora.dev",operation="CREATE",rejected="false",type="admit"} 40
apiserver_admission_webhook_request_total{code="0",name="inject.remora.dev",operation="CREATE",rejected="true",type="admit"} 2
apiserver_admission_webhook_request_total{code="200",name="other.example.com",operation="CREATE",rejected="false",type="validating"} 9
# TYPE apiserver_admission_webhook_fail_open_count counter
apiserver_admission_webhook_fail_open_count{name="inject.remora.dev",type="admit"} 2
# TYPE apiserver_admission_webhook_admission_duration_seconds histogram
apiserver_admission_webhook_admission_duration_seconds_bucket{name="inject.remora.dev",operation="CREATE",rejected="false",type="admit",le="0.5"} 38
apiserver_admission_webhook_admission_duration_seconds_bucket{name="inject.remora.dev",operation="CREATE",rejected="false",type="admit",le="2.5"} 40
apiserver_admission_webhook_admission_duration_seconds_bucket{name="inject.remora.dev",operation="CREATE",rejected="false",type="admit",le="+Inf"} 40
apiserver_admission_webhook_admission_duration_seconds_sum{name="inject.remora.dev",operation="CREATE",rejected="false",type="admit"} 9.5
apiserver_admission_webhook_admission_duration_seconds_count{name="inject.remora.dev",operation="CREATE",rejected="false",type="admit"} 40
"#;

    #[test]
    fn counts_one_webhooks_calls() {
        let found = calls(TEXT, "inject.remora.dev", 0.5).expect("calls");
        assert_eq!(found, Calls { total: 42.0, call_errors: 0.0, failed_open: 2.0, slow: 2.0, slow_seconds: 0.5 });
        assert_eq!(calls(TEXT, "absent.example.com", 0.5), None);
    }
}
