function onJobFailed(tag, cron, limit, err) {
  // Your code goes here
}
