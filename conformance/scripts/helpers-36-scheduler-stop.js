var status = jobs.scheduler.stop()
