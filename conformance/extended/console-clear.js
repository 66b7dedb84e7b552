// console.clear(): clears the console stream. The dashboard and `remora console` show a
// clear marker; replay prints "---- console cleared ----"; the sidecar's log is kept.
var n = 0;

function onItemCaptured(data) {
  n++;
  if (n === 3) console.clear();
  console.log("item " + n + " " + data.request.path);
}
