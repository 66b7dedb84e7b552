var status = jobs.scheduler.isRunning()
