file.write("hello.txt", "hello");
file.delete("hello.txt")
