#!/usr/bin/env python3
"""Benchmark: `remora replay` against tshark on the same large captures, in one run.

Builds deterministic captures (sidecar/examples/synth_capture.rs) of two shapes: `mixed`,
HTTP/1.1 with small JSON bodies and DNS (1,000,000 packets by default), and `bodies`, the
same traffic with JSON bodies of 1 to 4 KB in the 200 responses and the POSTs (300,000
packets by default). On each it times, one after the other on the same machine:
  - remora replay --output none   (every item built, none printed)
  - remora replay --output json   (every item printed as JSON, to /dev/null)
  - tshark extracting the same fields (HTTP method, URI, host, status; DNS id, name,
    type, rcode, answers) with -T fields, to /dev/null
and prints packets/s, MB/s, items/s and peak RSS of each, and the ratios. Peak RSS is
also measured on a quarter of the capture, to show memory does not grow with file size.

    python3 bench/replay_vs_tshark.py [--packets N] [--bodies-packets N] [--shapes mixed,bodies] [--runs R] [--markdown]
        [--baseline OLD_REMORA_BINARY]

--baseline times an earlier remora binary too, in the same run (rows "before: ..."), so a
change is measured side by side. REMORA_BIN / SYNTH_BIN name prebuilt binaries; otherwise
both are built in release.
"""

import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
REMORA = os.environ.get("REMORA_BIN", os.path.join(ROOT, "target", "release", "remora"))
SYNTH = os.environ.get("SYNTH_BIN", os.path.join(ROOT, "target", "release", "examples", "synth_capture"))

TSHARK_FIELDS = [
    "http.request.method", "http.request.uri", "http.host", "http.response.code",
    "dns.id", "dns.qry.name", "dns.qry.type", "dns.flags.rcode", "dns.a",
]


def build():
    if "REMORA_BIN" in os.environ and "SYNTH_BIN" in os.environ:
        return
    # Two builds: naming an example selects only that target, not the CLI's binary.
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "remora", "--bin", "remora"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "remora-sidecar", "--example", "synth_capture"], cwd=ROOT, check=True)


# shape -> synth_capture's traffic kind
SHAPES = {"mixed": "http", "bodies": "http-bodies"}


def capture(packets, shape="mixed"):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f"{shape}-{packets}.pcap")
    if not os.path.exists(path):
        subprocess.run([SYNTH, path, str(packets), SHAPES[shape]], check=True)
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


def compare(shape, packets, runs, markdown, baseline=None):
    """Times remora (both modes) and tshark on one capture and prints the table."""
    path = capture(packets, shape)
    quarter = capture(packets // 4, shape)
    size = os.path.getsize(path)
    print(f"capture ({shape}): {path}: {packets} packets, {size / 1e6:.1f} MB", file=sys.stderr)

    _, quarter_rss, _ = best_of(1, [REMORA, "replay", "--output", "none", quarter])
    rows = []
    binaries = ([("before: ", baseline)] if baseline else []) + [("", REMORA)]
    for label, binary in binaries:
        for name, mode in [("remora replay -o none", "none"), ("remora replay -o json", "json")]:
            seconds, rss, stderr = best_of(runs, [binary, "replay", "--output", mode, path])
            rows.append((label + name, seconds, rss, remora_items(stderr)))
    print("tshark (one run; it is slow)...", file=sys.stderr)
    seconds, rss, _ = measure(tshark_cmd(path))
    rows.append(("tshark -T fields", seconds, rss, tshark_rows(path)))

    tshark_seconds = rows[-1][1]
    header = ["tool", "seconds", "packets/s", "MB/s", "items/s", "peak RSS MiB", "speed vs tshark"]
    table = [[name, f"{s:.2f}", f"{packets / s:,.0f}", f"{size / s / 1e6:.1f}", f"{items / s:,.0f}",
              f"{rss:.0f}", f"{tshark_seconds / s:.1f}x"] for name, s, rss, items in rows]
    print(f"\n{shape}: {packets} packets, {size / 1e6:.1f} MB\n")
    print_table(header, table, markdown)
    print(f"\nremora -o none peak RSS: {quarter_rss:.0f} MiB on {packets // 4} packets, "
          f"{rows[-3][2]:.0f} MiB on {packets} packets (x{rows[-3][2] / quarter_rss:.2f} for 4x the file)")
    print(f"items: remora {rows[-3][3]}, tshark rows {rows[-1][3]} (one row per HTTP message or DNS message)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packets", type=int, default=1_000_000, help="packets of the mixed capture")
    parser.add_argument("--bodies-packets", type=int, default=300_000, help="packets of the capture with 1-4 KB bodies")
    parser.add_argument("--shapes", default="mixed,bodies", help="which captures: mixed, bodies or both (comma list)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each remora mode; the fastest counts")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--baseline", help="an earlier remora binary, timed in the same run")
    args = parser.parse_args()
    shapes = [s for s in args.shapes.split(",") if s]
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown:
        sys.exit(f"unknown shape(s) {', '.join(unknown)}: the shapes are {', '.join(SHAPES)}")

    build()
    for shape in shapes:
        compare(shape, args.bodies_packets if shape == "bodies" else args.packets, args.runs, args.markdown, args.baseline)


if __name__ == "__main__":
    main()
