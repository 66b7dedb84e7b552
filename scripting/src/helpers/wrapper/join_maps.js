// wrapper.joinMaps(a, b): merges b into a and returns a. Numbers at the same key are
// added, objects at the same key merged the same way; anything else in b (strings,
// arrays, a number over an object) replaces a's value. For adding up per-worker
// counters in onHubAction: totals = wrapper.joinMaps(totals, object).
(function () {
  var has = Object.prototype.hasOwnProperty;
  var DEPTH = 64;

  function isMap(v) {
    return v !== null && typeof v === "object" && !Array.isArray(v);
  }

  // A copy, so that a later join into a never changes b.
  function copy(v, depth) {
    if (depth > DEPTH) fail();
    if (Array.isArray(v)) return v.map(function (x) { return copy(x, depth + 1); });
    if (!isMap(v)) return v;
    var out = {};
    for (var k in v) if (has.call(v, k)) out[k] = copy(v[k], depth + 1);
    return out;
  }

  function fail() {
    throw new Error("wrapper.joinMaps: the maps nest deeper than " + DEPTH + " levels (a cycle?)");
  }

  function join(a, b, depth) {
    if (depth > DEPTH) fail();
    for (var k in b) {
      if (!has.call(b, k)) continue;
      var x = a[k], y = b[k];
      if (typeof x === "number" && typeof y === "number" && has.call(a, k)) a[k] = x + y;
      else if (isMap(x) && isMap(y)) join(x, y, depth + 1);
      else a[k] = copy(y, depth + 1);
    }
    return a;
  }

  return function joinMaps(a, b) {
    if (a === undefined || a === null) a = {};
    if (!isMap(a)) throw new Error("wrapper.joinMaps: argument 1 must be an object (or null for a new one)");
    if (b === undefined || b === null) return a;
    if (!isMap(b)) throw new Error("wrapper.joinMaps: argument 2 must be an object");
    return join(a, b, 0);
  };
})
