file.append("example.txt", " world");
