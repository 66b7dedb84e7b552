jobs.remove("example-job")
