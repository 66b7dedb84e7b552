// wrapper.buildHAR(items): a HAR 1.2 document (an object) from HTTP items, for
// browsers' and proxies' tools; written here to the data directory.
var items = [];

function onItemCaptured(data) {
  items.push(data);
  if (items.length === 5) {
    var har = wrapper.buildHAR(items);
    file.write("capture.har", JSON.stringify(har, null, 1));
    console.log("HAR " + har.log.version + " with " + har.log.entries.length + " entries, first " + har.log.entries[0].request.url);
  }
}
