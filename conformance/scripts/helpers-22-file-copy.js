file.copy("example.txt", "example2.txt");
