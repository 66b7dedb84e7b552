#!/usr/bin/env python3
"""Benchmark: `remora replay` against tshark on the same large capture, in one run.

Builds a deterministic capture of mixed HTTP/1.1 and DNS (sidecar/examples/synth_capture.rs),
then times, one after the other on the same machine:
  - remora replay --output none   (every item built, none printed)
  - remora replay --output json   (every item printed as JSON, to /dev/null)
  - tshark extracting the same fields (HTTP method, URI, host, status; DNS id, name,
    type, rcode, answers) with -T fields, to /dev/null
and prints packets/s, MB/s, items/s and peak RSS of each, and the ratios. Peak RSS is
also measured on a quarter of the capture, to show memory does not grow with file size.

    python3 bench/replay_vs_tshark.py [--packets N] [--runs R] [--markdown]
"""

import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
REMORA = os.path.join(ROOT, "target", "release", "remora")
SYNTH = os.path.join(ROOT, "target", "release", "examples", "synth_capture")

TSHARK_FIELDS = [
    "http.request.method", "http.request.uri", "http.host", "http.response.code",
    "dns.id", "dns.qry.name", "dns.qry.type", "dns.flags.rcode", "dns.a",
]


def build():
    # Two builds: naming an example selects only that target, not the CLI's binary.
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "remora", "--bin", "remora"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "remora-sidecar", "--example", "synth_capture"], cwd=ROOT, check=True)


def capture(packets):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f"mixed-{packets}.pcap")
    if not os.path.exists(path):
        subprocess.run([SYNTH, path, str(packets)], check=True)
    return path


def measure(cmd):
    """Runs cmd with stdout to /dev/null; returns (seconds, peak RSS in MiB, stderr)."""
    start = time.monotonic()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(cmd, stdout=null, stderr=subprocess.PIPE)
        stderr = proc.stderr.read().decode(errors="replace")
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{stderr}")
    return seconds, usage.ru_maxrss / 1024, stderr


def remora_items(stderr):
    m = re.search(r"^items: (\d+)", stderr, re.M)
    return int(m.group(1)) if m else 0


def tshark_rows(path):
    """Rows tshark prints for the same fields (its equivalent of items), counted as they
    stream by so that this process stays small (a forked child's peak RSS starts at ours)."""
    rows = 0
    with subprocess.Popen(tshark_cmd(path), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
        for chunk in iter(lambda: proc.stdout.read(1 << 20), b""):
            rows += chunk.count(b"\n")
    return rows


def tshark_cmd(path):
    cmd = ["tshark", "-r", path, "-Y", "http.request or http.response or dns", "-T", "fields"]
    for field in TSHARK_FIELDS:
        cmd += ["-e", field]
    return cmd


def best_of(runs, cmd):
    results = [measure(cmd) for _ in range(runs)]
    return min(results, key=lambda r: r[0])


def print_table(header, table, markdown):
    """Rows as Markdown, or aligned columns (the first left, the rest right)."""
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in table:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(r[i]) for r in table + [header]) for i in range(len(header))]
        for row in [header] + table:
            print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of each remora mode; the fastest counts")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()

    build()
    path = capture(args.packets)
    quarter = capture(args.packets // 4)
    size = os.path.getsize(path)
    packets = args.packets
    print(f"capture: {path}: {packets} packets, {size / 1e6:.1f} MB", file=sys.stderr)

    _, quarter_rss, _ = best_of(1, [REMORA, "replay", "--output", "none", quarter])
    rows = []
    for name, mode in [("remora replay -o none", "none"), ("remora replay -o json", "json")]:
        seconds, rss, stderr = best_of(args.runs, [REMORA, "replay", "--output", mode, path])
        rows.append((name, seconds, rss, remora_items(stderr)))
    print("tshark (one run; it is slow)...", file=sys.stderr)
    seconds, rss, _ = measure(tshark_cmd(path))
    rows.append(("tshark -T fields", seconds, rss, tshark_rows(path)))

    tshark_seconds = rows[-1][1]
    header = ["tool", "seconds", "packets/s", "MB/s", "items/s", "peak RSS MiB", "speed vs tshark"]
    table = [[name, f"{s:.2f}", f"{packets / s:,.0f}", f"{size / s / 1e6:.1f}", f"{items / s:,.0f}",
              f"{rss:.0f}", f"{tshark_seconds / s:.1f}x"] for name, s, rss, items in rows]
    print_table(header, table, args.markdown)
    print(f"\nremora -o none peak RSS: {quarter_rss:.0f} MiB on {packets // 4} packets, "
          f"{rows[0][2]:.0f} MiB on {packets} packets (x{rows[0][2] / quarter_rss:.2f} for 4x the file)")
    print(f"items: remora {rows[0][3]}, tshark rows {rows[-1][3]} (one row per HTTP message or DNS message)")


if __name__ == "__main__":
    main()
