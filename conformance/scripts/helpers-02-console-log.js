console.log("The variable x is:", x)
