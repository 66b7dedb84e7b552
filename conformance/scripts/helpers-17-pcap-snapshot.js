var dir = file.mkdirTemp("snapshots");
var snapshot = pcap.snapshot(dir);
