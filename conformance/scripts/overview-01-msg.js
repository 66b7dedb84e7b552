function onItemCaptured(data) {
  console.log("Msg:",JSON.stringify(data));
}
