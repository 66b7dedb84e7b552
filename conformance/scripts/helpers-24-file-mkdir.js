file.mkdir("example/folder/here")
