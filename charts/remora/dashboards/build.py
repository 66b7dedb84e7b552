#!/usr/bin/env python3
"""Builds remora.json, the Grafana dashboard the chart ships (metrics.grafanaDashboard),
with Grafana's own typed SDK (PyPI grafana-foundation-sdk): a field Grafana's schema does
not have cannot be written here. Run it after changing a panel:

    python3 charts/remora/dashboards/build.py > charts/remora/dashboards/remora.json

hub/tests/prometheus.rs checks the committed file is this script's output, reads it back
through the SDK's models unchanged, and runs every panel's query against a Prometheus
scraping a running injector, hub and sidecar.
"""

import json
import sys

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
PANEL_IDS = iter(range(1, 1000))


def query(ref, expr, legend=""):
    q = prometheus.Dataquery().ref_id(ref).expr(expr).datasource(DATASOURCE)
    if legend:
        q = q.legend_format(legend)
    return q


def series(title, description, unit, *queries):
    panel = timeseries.Panel().id(next(PANEL_IDS)).title(title).description(description).unit(unit).datasource(DATASOURCE).height(8).span(12)
    for ref, q in zip("ABCDEFGH", queries):
        panel = panel.with_target(query(ref, *q))
    return panel


def number(title, description, unit, expr):
    return stat.Panel().id(next(PANEL_IDS)).title(title).description(description).unit(unit).datasource(DATASOURCE).height(4).span(4).with_target(query("A", expr))


def row(title):
    return dashboard.Row(title).id(next(PANEL_IDS))


def build():
    board = (
        dashboard.Dashboard("Remora")
        .uid("remora-overview")
        .description("Remora's webhook, hub and capture sidecars (metrics of remora-injector, remora-hub and every injected pod's remora-sidecar).")
        .tags(["remora", "kubernetes", "network"])
        .refresh("30s")
        .time("now-1h", "now")
        .timezone("browser")
        .with_variable(dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus"))
        .with_row(row("Overview"))
        .with_panel(number("Sidecars connected", "Sidecar sessions the hub holds now.", "none", "sum(remora_hub_sessions)"))
        .with_panel(number("Sidecars not connected", "Running injected pods whose sidecar has no session with the hub.", "none", "sum(remora_hub_sidecars_not_connected)"))
        .with_panel(number("Pods without the sidecar", "Pods of opted-in namespaces that should run the sidecar and do not (remora check names them).", "none", "sum(remora_hub_pods_without_sidecar)"))
        .with_row(row("Webhook"))
        .with_panel(series("Admissions", "Pod admission reviews answered, by outcome.", "reqps", ("sum by (outcome) (rate(remora_injector_admissions_total[$__rate_interval]))", "{{outcome}}")))
        .with_panel(series("Pods left alone", "Pods not injected, by reason code (docs/INJECTOR.md lists them).", "reqps", ("sum by (reason) (rate(remora_injector_skips_total[$__rate_interval]))", "{{reason}}")))
        .with_panel(series("Webhook errors", "Requests answered without a decision, by kind.", "reqps", ("sum by (kind) (rate(remora_injector_errors_total[$__rate_interval]))", "{{kind}}")))
        .with_panel(series("Review latency", "Time from a review's arrival to its answer.", "s",
                           ("histogram_quantile(0.5, sum by (le) (rate(remora_injector_review_duration_seconds_bucket[$__rate_interval])))", "p50"),
                           ("histogram_quantile(0.99, sum by (le) (rate(remora_injector_review_duration_seconds_bucket[$__rate_interval])))", "p99")))
        .with_panel(series("Serving certificate", "Time left on the webhook's serving certificate.", "s", ("min(remora_injector_certificate_expiry_timestamp_seconds) - time()", "left")))
        .with_row(row("Sidecars"))
        .with_panel(series("Packets captured", "Packets taken by each sidecar's pipeline.", "pps", ("sum by (namespace, pod) (rate(remora_sidecar_packets_total[$__rate_interval]))", "{{namespace}}/{{pod}}")))
        .with_panel(series("Items produced", "Request/response items each sidecar produced.", "reqps", ("sum by (namespace, pod) (rate(remora_sidecar_items_total[$__rate_interval]))", "{{namespace}}/{{pod}}")))
        .with_panel(series("Kernel drops", "Packets dropped before capture: the kernel's capture buffer, or the interface.", "pps",
                           ("sum by (namespace, pod) (rate(remora_sidecar_kernel_dropped_total[$__rate_interval]))", "kernel {{namespace}}/{{pod}}"),
                           ("sum by (namespace, pod) (rate(remora_sidecar_interface_dropped_total[$__rate_interval]))", "interface {{namespace}}/{{pod}}")))
        .with_panel(series("Script failures", "Hooks, jobs or loads of the scripts that threw or ran out of time or memory.", "short",
                           ("sum by (namespace, pod) (rate(remora_sidecar_script_failures_total[$__rate_interval]))", "{{namespace}}/{{pod}}"),
                           ("sum(rate(remora_hub_script_failures_total[$__rate_interval]))", "hub")))
        .with_panel(series("Sidecars capturing", "1 while a sidecar's capture runs.", "none", ("min by (namespace, pod) (remora_sidecar_capturing)", "{{namespace}}/{{pod}}")))
        .with_row(row("Hub"))
        .with_panel(series("Items received", "Items the hub received, and items sidecars dropped while it was unreachable.", "reqps",
                           ("sum(rate(remora_hub_items_received_total[$__rate_interval]))", "received"),
                           ("sum(rate(remora_hub_items_dropped_by_sidecars_total[$__rate_interval]))", "dropped by sidecars")))
        .with_panel(series("Store", "Bytes the stored items take, against the bound (--max-bytes).", "bytes",
                           ("sum(remora_hub_store_bytes)", "used"), ("sum(remora_hub_store_max_bytes)", "bound")))
        .with_panel(series("Items evicted", "Items pushed out of the store by newer ones: queries reach back less far.", "reqps", ("sum(rate(remora_hub_items_evicted_total[$__rate_interval]))", "evicted")))
        .with_panel(series("Refused", "Sidecar connections and API calls refused for their token.", "reqps", ("sum(rate(remora_hub_sessions_refused_total[$__rate_interval]))", "refused")))
    )
    return board.build()


if __name__ == "__main__":
    json.dump(json.loads(JSONEncoder(sort_keys=True, indent=2).encode(build())), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
