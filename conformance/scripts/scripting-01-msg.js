function onItemCaptured(data) {
// Prints the API call metadata
console.log("Msg:", data);
}
