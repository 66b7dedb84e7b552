function pushStatusCodesToInfluxDB() {
  console.log("pushing status codes");
}
jobs.schedule("push-status-codes-to-influxdb", "0 */1 * * * *", pushStatusCodesToInfluxDB);
