#!/usr/bin/env python3
"""Benchmark: the live sidecar's memory, idle and under HTTP load (needs root).

Builds the release `remora-sidecar`, makes two network namespaces joined by a veth pair
(192.0.2.1 "pod", 192.0.2.2 "server", addresses that exist only inside them), starts a
Python HTTP server in the server namespace and the sidecar in the pod's (PCAPs kept,
no hub, no stdout), and reports:
  - RSS after 5 s idle;
  - RSS (peak of samples every 0.5 s) and items/s while a load generator in the pod's
    namespace fetches a small page as fast as it can for --seconds (a new connection
    per request: each is a stream, a PCAP file and an item);
  - kernel drops during the load.

    sudo python3 bench/sidecar_rss.py [--seconds 15] [--clients 4] [--markdown]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import print_rows  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIDECAR = os.path.join(ROOT, "target", "release", "remora-sidecar")
POD, SERVER = "rmrbenchc", "rmrbenchs"

LOAD = r"""
import http.client, sys, time
end = time.time() + float(sys.argv[1])
n = 0
while time.time() < end:
    c = http.client.HTTPConnection("192.0.2.2", 8080, timeout=5)
    c.request("GET", "/page.html")
    c.getresponse().read()
    c.close()
    n += 1
print(n)
"""


def sh(*args):
    subprocess.run(args, check=True, capture_output=True)


def netns_up():
    netns_down()
    sh("ip", "netns", "add", POD)
    sh("ip", "netns", "add", SERVER)
    sh("ip", "link", "add", "rmrbencha", "netns", POD, "type", "veth", "peer", "name", "rmrbenchb", "netns", SERVER)
    for ns, dev, addr in [(POD, "rmrbencha", "192.0.2.1/24"), (SERVER, "rmrbenchb", "192.0.2.2/24")]:
        sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
        sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


def netns_down():
    for ns in (POD, SERVER):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def metric(name):
    out = subprocess.run(["ip", "netns", "exec", POD, "curl", "-s", "http://127.0.0.1:15090/metrics"],
                         capture_output=True, text=True).stdout
    total = 0
    for line in out.splitlines():
        if line.startswith(name):
            total += int(line.rsplit(" ", 1)[1])
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--eager-arena", action="store_true", help="mimalloc's default eager arena commit")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "remora-sidecar", "--bin", "remora-sidecar"],
                   cwd=ROOT, check=True)
    netns_up()
    work = tempfile.mkdtemp(prefix="remora-sidecar-bench-")
    with open(os.path.join(work, "page.html"), "w") as f:
        f.write("x" * 1000)
    procs = []
    try:
        procs.append(subprocess.Popen(["ip", "netns", "exec", SERVER, "python3", "-m", "http.server", "8080",
                                       "--bind", "192.0.2.2", "--directory", work],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        # As the image runs it (Dockerfile: ENV MIMALLOC_ARENA_EAGER_COMMIT=0), unless
        # --eager-arena asks for mimalloc's default.
        env = dict(os.environ)
        if not args.eager_arena:
            env["MIMALLOC_ARENA_EAGER_COMMIT"] = "0"
        sidecar = subprocess.Popen(["ip", "netns", "exec", POD, SIDECAR, "--health-listen", "127.0.0.1:15090",
                                    "--output", "none", "--data-dir", os.path.join(work, "data"),
                                    "--scripts-dir", os.path.join(work, "none")],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        procs.append(sidecar)
        time.sleep(5)
        idle = rss_kib(sidecar.pid)
        items0, drops0 = metric("remora_sidecar_items_total"), metric("remora_sidecar_kernel_dropped_total")
        script = os.path.join(work, "load.py")
        with open(script, "w") as f:
            f.write(LOAD)
        clients = [subprocess.Popen(["ip", "netns", "exec", POD, "python3", script, str(args.seconds)],
                                    stdout=subprocess.PIPE, text=True) for _ in range(args.clients)]
        peak, start = idle, time.time()
        while any(c.poll() is None for c in clients):
            peak = max(peak, rss_kib(sidecar.pid))
            time.sleep(0.5)
        elapsed = time.time() - start
        requests = sum(int(c.stdout.read().strip() or 0) for c in clients)
        time.sleep(2)  # the last items leave the pipeline
        items = metric("remora_sidecar_items_total") - items0
        drops = metric("remora_sidecar_kernel_dropped_total") - drops0
        after = rss_kib(sidecar.pid)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        netns_down()

    rows = [
        ("RSS idle (5 s after start)", f"{idle / 1024:.1f} MiB"),
        ("load", f"{requests} requests from {args.clients} clients in {elapsed:.1f} s"),
        ("items/s during the load", f"{items / elapsed:.0f}"),
        ("RSS peak during the load", f"{peak / 1024:.1f} MiB"),
        ("RSS 2 s after the load", f"{after / 1024:.1f} MiB"),
        ("kernel drops during the load", str(drops)),
    ]
    print_rows(rows, args.markdown)


if __name__ == "__main__":
    main()
