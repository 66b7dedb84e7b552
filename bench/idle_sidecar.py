#!/usr/bin/env python3
"""Benchmark: what an idle sidecar costs (needs root).

Target (issue 25): at most 1 ms of CPU per second (0.1% of a core) and at most ten
wakeups a second, with no traffic and the hub unreachable, as in a quiet pod.

Makes two network namespaces joined by a veth pair (192.0.2.1 "pod", 192.0.2.2 "peer",
addresses that exist only inside them), starts the sidecar in the pod's capturing its
interface, its hub at 192.0.2.2:8898 where nothing listens (so it retries, then goes
dormant), no scripts; waits --warmup seconds, then over --seconds reads from /proc:
  - CPU time (utime + stime of every thread, /proc/PID/stat), as ms per second;
  - wakeups: context switches of every thread (voluntary + involuntary, from
    /proc/PID/task/*/status), per second, and which threads make them.

    sudo python3 bench/idle_sidecar.py [--seconds 60] [--warmup 10] [--markdown]

It builds `remora-sidecar` with the image profile first (as the image ships it);
REMORA_SIDECAR_BIN=/path/remora-sidecar uses that binary instead.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns import down, up  # noqa: E402
from report import print_rows, sidecar_binary  # noqa: E402

POD, PEER = "rmr-idle-pod", "rmr-idle-peer"


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def switches(pid):
    """Context switches per thread name, summed over threads of that name."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                text = f.read()
        except FileNotFoundError:
            continue
        name = next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Name:"))
        count = sum(int(line.split()[1]) for line in text.splitlines() if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")))
        out[name] = out.get(name, 0) + count
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    binary = sidecar_binary()
    up(POD, PEER, "rmrip0", "rmrip1", "192.0.2.1/24", "192.0.2.2/24", ipv6=False)
    data = tempfile.mkdtemp(prefix="remora-idle-")
    env = dict(os.environ, REMORA_HUB="ws://192.0.2.2:8898", REMORA_POD_NAME="idle", REMORA_POD_NAMESPACE="bench", REMORA_POD_IP="192.0.2.1")
    sidecar = subprocess.Popen(["ip", "netns", "exec", POD, binary, "--health-listen", "127.0.0.1:15090", "--data-dir", data, "--scripts-dir", os.path.join(data, "no-scripts"), "--output", "none"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        pid = int(subprocess.run(["pgrep", "-n", "-f", f"{binary} --health-listen"], capture_output=True, text=True, check=True).stdout.split()[0])
        time.sleep(args.warmup)
        ticks, before, start = cpu_ticks(pid), switches(pid), time.monotonic()
        time.sleep(args.seconds)
        ticks_after, after, elapsed = cpu_ticks(pid), switches(pid), time.monotonic() - start
        hz = os.sysconf("SC_CLK_TCK")
        cpu_ms = (ticks_after - ticks) * 1000 / hz / elapsed
        per_thread = {name: (after[name] - before.get(name, 0)) / elapsed for name in after}
        total = sum(per_thread.values())
        rows = [
            ("idle over", f"{elapsed:.0f} s (after {args.warmup:.0f} s)"),
            ("CPU", f"{cpu_ms:.2f} ms/s ({cpu_ms / 10:.3f}% of a core)"),
            ("wakeups (context switches)", f"{total:.1f}/s"),
        ]
        rows += [(f"  thread {name}", f"{rate:.1f}/s") for name, rate in sorted(per_thread.items(), key=lambda kv: -kv[1]) if rate >= 0.05]
        print_rows(rows, args.markdown)
    finally:
        sidecar.terminate()
        sidecar.wait(timeout=10)
        down(POD, PEER)


if __name__ == "__main__":
    main()
