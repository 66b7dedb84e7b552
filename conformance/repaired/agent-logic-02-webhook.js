function onItemCaptured(data) {
vendor.webhook(
"POST",
env.WEBHOOK_URL,
JSON.stringify(data)
);}
