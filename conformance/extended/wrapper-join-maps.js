// wrapper.joinMaps(a, b): merges b into a (numbers at the same key added, objects
// merged) and returns a: per-worker counters consolidated in onHubAction.
var totals = {};

function onItemCaptured(data) {
  var counts = { requests: 1, bytes: data.responseSize, status: {} };
  counts.status[data.response.status] = 1;
  hub.action("counts", counts);
}

function onHubAction(action, object) {
  if (action !== "counts") return;
  totals = wrapper.joinMaps(totals, object);
  if (totals.requests === 5) console.log("totals " + JSON.stringify(totals));
}
