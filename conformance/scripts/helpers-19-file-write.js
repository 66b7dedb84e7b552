file.write("example.txt", "hello");
