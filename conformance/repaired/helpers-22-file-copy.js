file.write("example.txt", "hello");
file.copy("example.txt", "example2.txt");
