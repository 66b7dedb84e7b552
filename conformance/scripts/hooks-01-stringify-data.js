console.log(JSON.stringify(data))
