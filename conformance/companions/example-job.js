// Not a reference example: schedules the job the jobs.* examples act on ("example-job",
// at the start of every minute of capture time), so that what they do shows in the
// job runs. Loaded before the example (a case's "before").
jobs.schedule("example-job", "0 * * * * *", function () {
  console.log("example-job ran");
});
