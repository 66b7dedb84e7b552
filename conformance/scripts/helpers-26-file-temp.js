var tempFile = file.temp("bar", "example/folder/here", "json")
