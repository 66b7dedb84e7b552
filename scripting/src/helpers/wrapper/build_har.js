// wrapper.buildHAR(items): a HAR 1.2 document (an object; JSON.stringify it to save it)
// from HTTP items. Items of other protocols are left out (said in log.comment). The item
// is HAR-shaped already (docs/ITEM.md): headers, cookies and query strings become HAR's
// name/value arrays, the body objects postData and content, elapsedTime the time.
(function (helpers) {
  var has = Object.prototype.hasOwnProperty;

  function fail(message) {
    throw new Error("wrapper.buildHAR: " + message);
  }

  // {name: value} (repeated values joined, as items keep them) as [{name, value}].
  function pairs(map) {
    var out = [];
    if (!map || typeof map !== "object") return out;
    for (var name in map) {
      if (has.call(map, name)) out.push({ name: name, value: String(map[name]) });
    }
    return out;
  }

  function integer(n, otherwise) {
    return typeof n === "number" && isFinite(n) ? Math.round(n) : otherwise;
  }

  function text(s) {
    return typeof s === "string" ? s : "";
  }

  function started(item) {
    if (typeof item.startTime === "string" && item.startTime !== "") return item.startTime;
    return new Date(integer(item.timestamp, 0)).toISOString();
  }

  // The absolute URL: the target as sent when it is one (a proxy's), else the Host
  // header (or the server's address) before it.
  function url(item) {
    var request = item.request;
    var target = text(request.url) || text(request.path) || "/";
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) return target;
    var headers = request.headers || {};
    var host = text(headers.host) || text(headers[":authority"]);
    if (!host && item.dst) {
      var ip = text(item.dst.ip);
      host = (ip.indexOf(":") >= 0 ? "[" + ip + "]" : ip) + (item.dst.port ? ":" + item.dst.port : "");
    }
    return (item.tls ? "https" : "http") + "://" + (host || "localhost") + (target.charAt(0) === "/" ? target : "/" + target);
  }

  function body(from, required) {
    if (!from || typeof from !== "object") return required ? { size: 0, mimeType: "" } : undefined;
    var out = { mimeType: text(from.mimeType) };
    if (required) out.size = integer(from.size, 0);
    if (typeof from.text === "string") out.text = from.text;
    // HAR's postData has no encoding field: a comment says the text is base64.
    if (from.encoding) {
      if (required) out.encoding = String(from.encoding);
      else out.comment = "text is " + from.encoding;
    }
    return out;
  }

  function request(item) {
    var r = item.request;
    var out = {
      method: text(r.method),
      url: url(item),
      httpVersion: text(r.httpVersion),
      cookies: pairs(r.cookies),
      headers: pairs(r.headers),
      queryString: pairs(r.queryString),
      headersSize: integer(r.headersSize, -1),
      bodySize: integer(r.bodySize, -1)
    };
    var postData = body(r.postData, false);
    if (postData) out.postData = postData;
    return out;
  }

  // An unanswered request has HAR's "no response" shape: status 0, sizes -1.
  function response(item) {
    var r = item.response;
    if (!r || typeof r !== "object") {
      var out = { status: 0, statusText: "", httpVersion: "", cookies: [], headers: [], content: { size: 0, mimeType: "" }, redirectURL: "", headersSize: -1, bodySize: -1 };
      if (item.error && item.error.msg) out.comment = String(item.error.msg);
      return out;
    }
    return {
      status: integer(r.status, 0),
      statusText: text(r.statusText),
      httpVersion: text(r.httpVersion),
      cookies: pairs(r.cookies),
      headers: pairs(r.headers),
      content: body(r.content, true),
      redirectURL: text(r.redirectURL),
      headersSize: integer(r.headersSize, -1),
      bodySize: integer(r.bodySize, -1)
    };
  }

  function entry(item) {
    var wait = Math.max(0, integer(item.elapsedTime, 0));
    var out = {
      startedDateTime: started(item),
      time: wait,
      request: request(item),
      response: response(item),
      cache: {},
      timings: { send: 0, wait: wait, receive: 0 }
    };
    if (item.dst && item.dst.ip) out.serverIPAddress = String(item.dst.ip);
    if (item.stream) out.connection = String(item.stream);
    return out;
  }

  function isHttp(item) {
    return item && typeof item === "object" && item.protocol && item.protocol.name === "http" && item.request && typeof item.request === "object";
  }

  return function buildHAR(items) {
    if (!items || typeof items.length !== "number" || typeof items === "string") fail("argument 1 (items) must be an array of items");
    var entries = [];
    var skipped = 0;
    for (var i = 0; i < items.length; i++) {
      if (isHttp(items[i])) entries.push(entry(items[i]));
      else skipped++;
    }
    entries.sort(function (a, b) { return a.startedDateTime < b.startedDateTime ? -1 : a.startedDateTime > b.startedDateTime ? 1 : 0; });
    var log = { version: "1.2", creator: { name: "remora", version: helpers.version }, entries: entries };
    if (skipped > 0) log.comment = skipped + " item(s) that are not HTTP left out";
    return { log: log };
  };
})
