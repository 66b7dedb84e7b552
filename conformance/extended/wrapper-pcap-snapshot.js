// wrapper.pcapSnapshot(items?, dir?): the streams of the given items (all without
// items) merged into one PCAP in the data directory; returns its path.
var items = [];

function onItemCaptured(data) {
  items.push(data);
  if (items.length === 5) {
    var path = wrapper.pcapSnapshot(items);
    console.log("snapshot of " + items.length + " items: " + path.replace(/^.*\//, ""));
  }
}
