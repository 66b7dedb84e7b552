function onPacketCaptured(info) {
  // Your code goes here
}
