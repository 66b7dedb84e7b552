// prometheus.vector(name, description, type, value, labels): a metric per label set
// (labels an object of strings); type 1 adds, type 2 sets. Each metric keeps at most
// 1000 label sets; more are dropped and counted.
function onItemCaptured(data) {
  var labels = { method: data.request.method, status: String(data.response.status) };
  prometheus.vector("shop_http_answers", "HTTP answers by method and status", 1, 1, labels);
  prometheus.vector("shop_http_response_bytes", "Size of the last answer, by path", 2, data.responseSize, { path: data.request.path });
}

try {
  prometheus.vector("shop_http_answers", "HTTP answers by method and status", 1, 1, { "status-code": "200" });
} catch (e) {
  console.log(e.message);
}
