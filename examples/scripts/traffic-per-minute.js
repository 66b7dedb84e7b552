// Traffic per minute, after the reference's own example: onPacketCaptured aggregates, a
// job prints. In replay the job runs on the capture's clock, at the captured minutes
// (quiet minutes are skipped here, so long gaps in a capture print nothing).
var packetCount = 0;
var totalKB = 0;

function onPacketCaptured(info) {
  packetCount++;
  totalKB += info.length / 1000;
}

function logPacketCountTotalBytes() {
  if (packetCount === 0) return;
  console.log("Captured packet count per minute:", packetCount);
  console.log("Total KB captured per minute:", totalKB.toFixed(1));
  packetCount = 0;
  totalKB = 0;
}

jobs.schedule("log-packet-count-total-bytes", "0 */1 * * * *", logPacketCountTotalBytes);
