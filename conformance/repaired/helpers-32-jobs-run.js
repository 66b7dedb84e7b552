var runs = 0;
function exampleJob() { runs++; console.log("example-job ran", runs); }
jobs.schedule("example-job", "0 0 0 1 1 *", exampleJob);
jobs.run("example-job")
