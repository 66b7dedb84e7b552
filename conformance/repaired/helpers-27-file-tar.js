file.mkdir("example/folder/here");
file.write("example/folder/here/a.txt", "a");
var tarFile = file.tar("example/folder/here")
console.log(tarFile);
