file.write("example.txt", "hello");
file.move("example.txt", "hello.txt");
file.write("example.txt", "again");
file.move("example.txt", "directory/");
