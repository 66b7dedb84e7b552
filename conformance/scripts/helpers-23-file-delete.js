file.delete("hello.txt")
