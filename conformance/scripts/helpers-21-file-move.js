file.move("example.txt", "hello.txt");
file.move("example.txt", "directory/");
