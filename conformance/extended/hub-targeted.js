// hub.targeted(): in the hub, the pods that run the sidecar (targets) and the pods of
// opted-in namespaces that do not (excluded), as JSON; offline both lists are empty.
function names(pods) {
  return pods.map(function (p) { return p.metadata.namespace + "/" + p.metadata.name + "@" + p.spec.nodeName; }).join(" ");
}

jobs.schedule("targeted", "* * * * * *", function () {
  var pods = JSON.parse(hub.targeted());
  console.log("targets [" + names(pods.targets) + "] excluded [" + names(pods.excluded) + "]");
}, 5);
