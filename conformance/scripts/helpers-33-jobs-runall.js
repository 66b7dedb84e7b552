jobs.runAll()
