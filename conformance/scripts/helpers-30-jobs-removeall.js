jobs.removeAll()
