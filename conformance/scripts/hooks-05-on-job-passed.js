function onJobPassed(tag, cron, limit) {
  // Your code goes here
}
