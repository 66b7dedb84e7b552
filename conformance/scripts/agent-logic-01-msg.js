function onItemCaptured(data) {
// Print API call metadata
console.log("Msg:", data);
}
