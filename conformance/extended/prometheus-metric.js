// prometheus.metric(name, description, type, value): type 1 a counter (value added),
// 2 a gauge (value set); shown on the process's /metrics (replay: at the end of its
// summary). A bad name throws.
prometheus.metric("shop_scripts_loaded", "Scripts loaded", 1, 1);

function onItemCaptured(data) {
  prometheus.metric("shop_http_items", "HTTP items seen", 1, 1);
  prometheus.metric("shop_last_elapsed_ms", "Milliseconds the last answer took", 2, data.elapsedTime);
}

try {
  prometheus.metric("shop items", "a space is not allowed", 1, 1);
} catch (e) {
  console.log(e.message);
}
