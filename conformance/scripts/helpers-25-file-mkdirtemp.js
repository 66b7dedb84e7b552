var tempDir = file.mkdirTemp("foo", "example/folder/here")
