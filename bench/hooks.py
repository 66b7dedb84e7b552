#!/usr/bin/env python3
"""Benchmark: what script hooks cost, on the same capture as bench/replay_vs_tshark.py.

Runs `remora replay --output none` on the 1M-packet capture without scripts, then with
one script at a time, and prints each run's time and the cost per hook call beyond the
run without scripts:
  - onItemCaptured that does nothing with `data`      (nothing of `data` is built)
  - onItemCaptured that reads two fields              (those two are built)
  - onItemCaptured that serialises all of `data`      (everything is built)
  - onPacketCaptured that counts packets and bytes    (the reference's own example)

    python3 bench/hooks.py [--packets N] [--runs R] [--baseline OLD_REMORA_BINARY]

--baseline runs every script with an earlier remora binary too, in the same run (rows
"before: ..."), so a change is measured side by side.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from replay_vs_tshark import REMORA, build, capture  # noqa: E402

SCRIPTS = {
    "item, data untouched": "var n = 0; function onItemCaptured(data) { n++; }",
    "item, two fields read": "var n = 0; function onItemCaptured(data) { if (data.response && data.response.status >= 500 && data.protocol.name === 'http') n++; }",
    "item, JSON.stringify(data)": "var n = 0; function onItemCaptured(data) { n += JSON.stringify(data).length; }",
    "packet, count and sum": "var packetCount = 0, totalKB = 0; function onPacketCaptured(info) { packetCount++; totalKB += info.length / 1000; }",
}


def run(path, script, data_dir, binary=REMORA):
    cmd = [binary, "replay", "--output", "none", path]
    if script is not None:
        folder = tempfile.mkdtemp()
        with open(os.path.join(folder, "bench.js"), "w") as f:
            f.write(script)
        cmd += ["--scripts", folder, "--data-dir", data_dir]
    start = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if out.returncode != 0:
        sys.exit(out.stderr)
    calls = re.search(r"scripts: \d+ loaded, (\d+) hook calls", out.stderr)
    failures = re.search(r"(\d+) failures", out.stderr)
    if failures and int(failures.group(1)) != 0:
        sys.exit(f"the benchmark script failed:\n{out.stderr}")
    return seconds, int(calls.group(1)) if calls else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of each; the fastest counts")
    parser.add_argument("--baseline", help="an earlier remora binary, run the same way in the same run")
    args = parser.parse_args()
    build()
    path = capture(args.packets)
    data_dir = tempfile.mkdtemp()
    print("| hook | seconds | hook calls | µs per call beyond replay | calls/s |")
    print("|---|---|---|---|---|")
    binaries = ([("before: ", args.baseline)] if args.baseline else []) + [("", REMORA)]
    for label, binary in binaries:
        base = min(run(path, None, data_dir, binary)[0] for _ in range(args.runs))
        print(f"| {label}(no scripts) | {base:.2f} | 0 | | |")
        for name, script in SCRIPTS.items():
            results = [run(path, script, data_dir, binary) for _ in range(args.runs)]
            seconds, calls = min(results)
            extra = max(seconds - base, 1e-9)
            print(f"| {label}{name} | {seconds:.2f} | {calls:,} | {extra / calls * 1e6:.2f} | {calls / extra:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
