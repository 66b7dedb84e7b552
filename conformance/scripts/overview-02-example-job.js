jobs.schedule("example-job", "*/5 * * * * *", exampleJob)
