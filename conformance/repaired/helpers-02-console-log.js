var x = 42;
console.log("The variable x is:", x)
