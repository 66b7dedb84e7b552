var value = "unexpected";
console.error("Something is not right and the value is:", value)
