function onItemCaptured(data) {
  if (data.response.status === 500)
    vendor.slack(
      env.SLACK_WEBHOOK,      // Webhook URL
      "Server-side Error",    // Pretext (title)
      JSON.stringify(data),   // Message text
      "#ff0000"               // Color code of the message
    );
}
