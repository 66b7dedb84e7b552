function onItemCaptured(data) {
  // Your code goes here
}
