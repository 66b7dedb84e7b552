console.log(JSON.stringify(env));
