var status = jobs.scheduler.start()
