function onItemCaptured(data) {
  console.error(red + "Value: " + data.elapsedTime + "µs." + reset);
  if (data.response.status >= 500) vendor.slack(env.HOOK, "5xx 日本", data.request.path, "#ff0000");
}
