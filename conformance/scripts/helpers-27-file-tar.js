var tarFile = file.tar("example/folder/here")
