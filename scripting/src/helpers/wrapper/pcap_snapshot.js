// wrapper.pcapSnapshot(items?, dir?): pcap.snapshot of the streams of the given items
// (an array of items, or one item; absent or null: every stream), in time order, into
// <UNIX_TIMESTAMP>.pcap in the data directory; returns its path. As pcap.snapshot, a
// string first argument is the directory of the PCAP files; `dir` is the same.
(function (helpers) {
  var pcap = helpers.pcap;
  return function pcapSnapshot(items, dir) {
    // pcap.snapshot counts its arguments: pass only those given.
    if (items === undefined || items === null) return dir === undefined ? pcap.snapshot() : pcap.snapshot(null, dir);
    if (typeof items === "string") return pcap.snapshot(items);
    var list = typeof items.length === "number" ? items : [items];
    var streams = [], seen = {};
    for (var i = 0; i < list.length; i++) {
      var item = list[i];
      var stream = typeof item === "string" ? item : item && typeof item === "object" ? item.stream : undefined;
      if (typeof stream !== "string" || stream === "") throw new Error("wrapper.pcapSnapshot: item " + i + " has no stream (data.stream names its PCAP file)");
      if (!seen[stream]) {
        seen[stream] = true;
        streams.push(stream);
      }
    }
    return dir === undefined ? pcap.snapshot(streams) : pcap.snapshot(streams, dir);
  };
})
