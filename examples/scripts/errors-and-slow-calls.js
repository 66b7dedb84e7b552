// Errors and slow calls: marks failing or slow HTTP exchanges and DNS lookups that
// found nothing, and prints a line for each.
var SLOW_MS = 500;

function onItemCaptured(data) {
  if (!data.response) {
    console.error("no answer:", data.protocol.name, data.src.ip, "->", data.dst.ip, data.error ? data.error.msg : "");
    test.fail(data);
    return;
  }
  if (data.protocol.name === "http") {
    if (data.response.status >= 400 || data.elapsedTime > SLOW_MS) {
      console.log("HTTP", data.response.status, data.elapsedTime + "ms", data.request.method, data.request.headers.host + data.request.path);
      test.fail(data);
    } else {
      test.pass(data);
    }
  } else if (data.protocol.name === "dns" && data.response.code !== "No Error") {
    console.log("DNS", data.response.code, data.request.questions[0].type, data.request.questions[0].name);
    test.fail(data);
  }
}
