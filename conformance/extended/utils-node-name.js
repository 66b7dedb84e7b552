// utils.nodeName(): "hub" in the hub, the sidecar's node in a sidecar, the host's name
// offline: one script can do some work only in the hub and some only on workers.
if (utils.nodeName() === "hub") {
  console.log("running in the hub");
} else {
  console.log("running on node " + utils.nodeName());
}
