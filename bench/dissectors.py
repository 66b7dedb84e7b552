#!/usr/bin/env python3
"""Benchmark per dissector: `remora replay` against tshark on a capture of one protocol,
side by side in one run.

For each protocol, builds a deterministic capture (sidecar/examples/synth_capture.rs with
the protocol's traffic kind), then times `remora replay --output none` (the fastest of
--runs; every item built) and tshark dissecting the same protocol with `-T fields` (one
run), and prints MB/s of capture (frames) on the pipeline's one core, items/s and the
speed ratio.

    python3 bench/dissectors.py [--packets N] [--runs R] [--markdown] [--protocols redis,...]

REMORA_BIN / SYNTH_BIN name prebuilt binaries; otherwise both are built in release.
"""

import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from replay_vs_tshark import ROOT, OUT, best_of, measure, print_table, remora_items  # noqa: E402

REMORA = os.environ.get("REMORA_BIN", os.path.join(ROOT, "target", "release", "remora"))
SYNTH = os.environ.get("SYNTH_BIN", os.path.join(ROOT, "target", "release", "examples", "synth_capture"))

# protocol -> (synth_capture traffic kind, tshark display filter, tshark fields[, decode-as])
PROTOCOLS = {
    "redis": ("redis", "resp", ["resp.string", "resp.error", "resp.integer", "resp.bulk_string.value", "resp.array.length"]),
    "tls": ("tls", "tls.handshake.type == 1 or tls.handshake.type == 2",
            ["tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str",
             "tls.handshake.extensions.supported_version", "tls.handshake.ciphersuite"]),
    "postgres": ("postgres", "pgsql", ["pgsql.type", "pgsql.query", "pgsql.tag", "pgsql.code"]),
    "mysql": ("mysql", "mysql", ["mysql.command", "mysql.query", "mysql.response_code", "mysql.affected_rows", "mysql.num_fields"]),
    "websocket": ("websocket", "websocket", ["websocket.opcode", "websocket.payload_length", "websocket.payload.text"]),
    "icmp": ("icmp", "icmp", ["icmp.type", "icmp.code", "icmp.ident", "icmp.seq"]),
    "http2": ("http2", "http2.type == 1 or grpc", ["http2.streamid", "http2.header.name", "http2.header.value", "grpc.message_length"],
              "tcp.port==50051,http2"),
    "kafka": ("kafka", "kafka", ["kafka.api_key", "kafka.api_version", "kafka.correlation_id", "kafka.client_id", "kafka.topic_name", "kafka.error"]),
    "amqp": ("amqp", "amqp", ["amqp.channel", "amqp.method.class", "amqp.method.method", "amqp.method.arguments.exchange",
                              "amqp.method.arguments.routing_key", "amqp.method.arguments.queue", "amqp.header.body-size"]),
}


def build():
    if "REMORA_BIN" in os.environ and "SYNTH_BIN" in os.environ:
        return
    # Two builds: naming an example selects only that target, not the CLI's binary.
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "remora", "--bin", "remora"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "remora-sidecar", "--example", "synth_capture"], cwd=ROOT, check=True)


def capture(kind, packets):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f"{kind}-{packets}.pcap")
    if not os.path.exists(path):
        subprocess.run([SYNTH, path, str(packets), kind], check=True)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packets", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--protocols", default=",".join(PROTOCOLS))
    args = parser.parse_args()
    build()
    header = ["protocol", "tool", "seconds", "MB/s", "items/s", "speed vs tshark"]
    table = []
    for name in args.protocols.split(","):
        kind, display, fields, *decode_as = PROTOCOLS[name]
        path = capture(kind, args.packets)
        size = os.path.getsize(path)
        seconds, _, stderr = best_of(args.runs, [REMORA, "replay", "--output", "none", path])
        items = remora_items(stderr)
        tshark = ["tshark", "-r", path, "-Y", display, "-T", "fields"] + [x for f in fields for x in ("-e", f)]
        tshark += [x for d in decode_as for x in ("-d", d)]
        tshark_seconds, _, _ = measure(tshark)
        table.append([name, "remora replay -o none", f"{seconds:.2f}", f"{size / seconds / 1e6:.1f}", f"{items / seconds:,.0f}", f"{tshark_seconds / seconds:.1f}x"])
        table.append([name, "tshark -T fields", f"{tshark_seconds:.2f}", f"{size / tshark_seconds / 1e6:.1f}", "-", "1.0x"])
        print(f"{name}: {path}: {args.packets} packets, {size / 1e6:.1f} MB, {items} items", file=sys.stderr)
    print_table(header, table, args.markdown)

if __name__ == "__main__":
    main()
