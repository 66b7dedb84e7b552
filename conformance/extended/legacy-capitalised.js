// Scripts for older versions read capitalised fields (data.Protocol.Name,
// data.Request.Path): they read the lower-case fields of the item.
var done = false;

function onItemCaptured(data) {
  if (done) return;
  done = true;
  console.log(data.Protocol.Name + " " + data.Request.Method + " " + data.Request.Path + " -> " + data.Response.Status + " from " + data.Src.IP);
}
