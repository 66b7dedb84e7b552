// utils.json2Yaml(json): the YAML text of a JSON string; invalid JSON throws.
var written = false;

function onItemCaptured(data) {
  if (written) return;
  written = true;
  var summary = { request: { method: data.request.method, path: data.request.path }, status: data.response.status, sizes: [data.requestSize, data.responseSize] };
  file.write("first-item.yaml", utils.json2Yaml(JSON.stringify(summary)));
  try {
    utils.json2Yaml("{not json");
  } catch (e) {
    console.log(e.message);
  }
}
