#!/usr/bin/env python3
"""Makes http-500.pcap: tests/data/pcaps/http1__zeek__pipelined-requests.pcap (5 GETs
answered 200 on one keep-alive connection) with the status line of its third response
rewritten from "HTTP/1.1 200 OK" to "HTTP/1.1 500 OK" (same length, so sequence numbers
hold) and that segment's TCP checksum recomputed: a real capture in which a 500 occurs,
for the reference's Slack examples. Run from the repository root:

    python3 conformance/captures/make-http-500.py
"""

import struct

SOURCE = "tests/data/pcaps/http1__zeek__pipelined-requests.pcap"
TARGET = "conformance/captures/http-500.pcap"
WHICH = 3  # the third response


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def main():
    raw = bytearray(open(SOURCE, "rb").read())
    magic = struct.unpack("<I", raw[:4])[0]
    assert magic == 0xA1B2C3D4, "a little-endian classic pcap"
    assert struct.unpack("<I", raw[20:24])[0] == 1, "Ethernet"
    at, seen = 24, 0
    while at < len(raw):
        incl = struct.unpack("<I", raw[at + 8:at + 12])[0]
        frame = at + 16
        ip = frame + 14
        assert raw[ip] >> 4 == 4, "IPv4"
        ihl = (raw[ip] & 0x0F) * 4
        total = struct.unpack("!H", raw[ip + 2:ip + 4])[0]
        tcp = ip + ihl
        if raw[ip + 9] == 6:
            offset = (raw[tcp + 12] >> 4) * 4
            payload = tcp + offset
            if raw[payload:payload + 15] == b"HTTP/1.1 200 OK":
                seen += 1
                if seen == WHICH:
                    raw[payload + 9:payload + 12] = b"500"
                    segment = bytes(raw[tcp:ip + total])
                    segment = segment[:16] + b"\0\0" + segment[18:]
                    pseudo = bytes(raw[ip + 12:ip + 20]) + struct.pack("!BBH", 0, 6, len(segment))
                    raw[tcp + 16:tcp + 18] = struct.pack("!H", checksum(pseudo + segment))
                    open(TARGET, "wb").write(raw)
                    print(f"{TARGET}: response {WHICH} now 500")
                    return
        at = frame + incl
    raise SystemExit(f"{SOURCE}: fewer than {WHICH} responses")


if __name__ == "__main__":
    main()
