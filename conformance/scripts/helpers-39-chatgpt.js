function onItemCaptured(data) {
  if (data.protocol.name == "http") {
    // Delete internally used fields to not confuse ChatGPT
    delete data.passed
    delete data.failed

    var payload = JSON.stringify(data);

    var response = chatgpt.prompt(
      env.OPENAI_API_KEY,
      "Did the HTTP request failed in this HTTP request-response pair? " + payload
    );
    console.log("ChatGPT:", response);

    var score = chatgpt.sentiment(response);
    if (score.pos > 0.4) {
      console.log("ALERT! ChatGPT is detected a failed HTTP request:", response, "Payload:", payload);
    }
  }
}
