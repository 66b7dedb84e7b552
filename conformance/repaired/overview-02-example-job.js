function exampleJob() {
  console.log("example-job ran");
}
jobs.schedule("example-job", "*/5 * * * * *", exampleJob)
