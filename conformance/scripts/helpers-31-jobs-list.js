var tags = jobs.list()
