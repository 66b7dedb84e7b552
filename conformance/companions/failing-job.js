// Not a reference example: a job that throws at the start of every minute of capture
// time, so that onJobFailed has something to be called for. Loaded before the example.
jobs.schedule("failing-job", "0 * * * * *", function () {
  throw new Error("failing-job fails on purpose");
});
