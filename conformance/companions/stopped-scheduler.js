// Not a reference example: schedules example-job every minute of capture time and stops
// the scheduler, so that jobs.scheduler.start() has something to start. Loaded before
// the example.
jobs.schedule("example-job", "0 * * * * *", function () {
  console.log("example-job ran");
});
jobs.scheduler.stop();
