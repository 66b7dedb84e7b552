function onItemCaptured(data) {
response = vendor.webhook(
  "POST",
  env.WEBHOOK_URL,
  JSON.stringify(data),
  {
    "content-type": "application/json"
  }
);}
