// Scripts shared for this API are sloppy-mode ES5: legacy octal escapes for terminal
// colours, `with`, and function declarations inside blocks all load and run.
var BLUE = "\033[34m", RESET = "\033[0m";
var seen = { count: 0 };

function onItemCaptured(data) {
  if (data.protocol.name === "http") {
    function label(item) {
      return item.request.method + " " + item.request.path;
    }
    with (seen) {
      count++;
    }
    if (seen.count === 5) console.log(BLUE + label(data) + RESET + " is item " + seen.count);
  }
}
