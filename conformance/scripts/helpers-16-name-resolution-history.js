var nameResolutionHistory = pcap.nameResolutionHistory();
