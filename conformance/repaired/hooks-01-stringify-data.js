function onItemCaptured(data) {
console.log(JSON.stringify(data))
}
