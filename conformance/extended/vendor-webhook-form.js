// vendor.webhookForm(method, url, form, headers?): sends an HTML form and returns the
// answer's body. URL-encoded, or multipart when a field is a file (a path from
// file.temp or pcap.*, or {file: path}).
var n = 0;

function onItemCaptured(data) {
  n++;
  if (n === 1) {
    console.log(vendor.webhookForm("POST", env.FORM_URL, { path: data.request.path, status: data.response.status, note: "a&b=c" }));
  }
  if (n === 5) {
    var capture = wrapper.pcapSnapshot([data]);
    file.write("notes.txt", n + " items");
    console.log(vendor.webhookForm("POST", env.FORM_URL, { capture: capture, notes: { file: "notes.txt" }, items: n }, { "X-Source": "remora" }));
  }
}
