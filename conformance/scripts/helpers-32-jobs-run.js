jobs.run("example-job")
