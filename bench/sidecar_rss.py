#!/usr/bin/env python3
"""Benchmark: the live sidecar's memory, idle and under HTTP or DNS load (needs root).

Target (issue 7): RSS <= 12 MB idle, <= 32 MB at 2,000 items/s.

Builds the release `remora-sidecar`, makes two network namespaces joined by a veth pair
(192.0.2.1 "pod", 192.0.2.2 "server", addresses that exist only inside them), starts a
server in the server namespace and the sidecar in the pod's (PCAPs kept, no hub, no
stdout), and reports:
  - RSS after 5 s idle;
  - RSS (peak of samples every 0.5 s) and items/s (the sidecar's items_total over the
    load) while a load generator in the pod's namespace runs for --seconds;
  - RSS 2 s after the load, and kernel drops during it.

Loads:
  - `--load http` (default): --clients Python clients fetch a 1 kB page from Python's
    HTTP server as fast as they can, a new connection per request (each one a stream, a
    PCAP file and an item). Closed loop: Python is the limit (~1,500 items/s here).
  - `--load dns --rate 2000`: dnsperf sends --rate A queries/s (`-Q`) from --clients
    sockets to dnsmasq, which answers every name under bench.test; each query and its
    answer are one item. dnsperf keeps one socket per client, so the items come on
    --clients UDP flows.
  - `--load dns-new-port --rate 2000`: the same queries, open loop, from two Python
    processes that send each query from a new socket, as a stub resolver does: a UDP flow
    (and PCAP file) per item, each kept until the 30 s UDP idle timeout.

    apt-get install -y dnsperf dnsmasq-base      # for --load dns (besides curl, iproute2)
    sudo python3 bench/sidecar_rss.py [--load http|dns|dns-new-port] [--rate 2000]
                                      [--seconds 15] [--clients 4] [--markdown]

It builds the release binary with cargo first; REMORA_SIDECAR_BIN=/path/remora-sidecar
uses that binary instead (no build).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import print_rows, sidecar_binary  # noqa: E402
import netns  # noqa: E402
from netns import rss_kib, sh  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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


# A stub resolver's way: every query from a new socket (a new source port, so a new UDP
# flow, stream and PCAP file per item), open loop at RATE/s for SECONDS.
DNS_NEW_PORT = r"""
import socket, struct, sys, time
rate, seconds, first = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
start, n, answered = time.monotonic(), 0, 0
while n / rate < seconds:
    wait = start + n / rate - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    name = b"".join(bytes([len(p)]) + p for p in f"n{first + n}.bench.test".encode().split(b".")) + b"\0"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    s.sendto(struct.pack("!HHHHHH", (first + n) & 0xFFFF, 0x0100, 1, 0, 0, 0) + name + b"\0\1\0\1", ("192.0.2.2", 53))
    try:
        s.recv(512)
        answered += 1
    except socket.timeout:
        pass
    s.close()
    n += 1
print(n, answered, time.monotonic() - start)
"""


def netns_up():
    netns.up(POD, SERVER, "rmrbencha", "rmrbenchb", "192.0.2.1/24", "192.0.2.2/24")


def netns_down():
    netns.down(POD, SERVER)


def metric(name):
    out = subprocess.run(["ip", "netns", "exec", POD, "curl", "-s", "http://127.0.0.1:15090/metrics"],
                         capture_output=True, text=True).stdout
    total = 0
    for line in out.splitlines():
        if line.startswith(name):
            total += int(line.rsplit(" ", 1)[1])
    return total


def start_http_server(work):
    with open(os.path.join(work, "page.html"), "w") as f:
        f.write("x" * 1000)
    return subprocess.Popen(["ip", "netns", "exec", SERVER, "python3", "-m", "http.server", "8080",
                             "--bind", "192.0.2.2", "--directory", work],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_dns_server():
    # Answers every name under bench.test itself; logs nothing per query (no -q).
    return subprocess.Popen(["ip", "netns", "exec", SERVER, "dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts",
                             "--conf-file=/dev/null", "--listen-address=192.0.2.2", "--bind-interfaces",
                             "--port=53", "--address=/bench.test/192.0.2.9", "--log-facility=-"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def http_load(args, work):
    script = os.path.join(work, "load.py")
    with open(script, "w") as f:
        f.write(LOAD)
    clients = [subprocess.Popen(["ip", "netns", "exec", POD, "python3", script, str(args.seconds)],
                                stdout=subprocess.PIPE, text=True) for _ in range(args.clients)]

    def done(elapsed):
        requests = sum(int(c.stdout.read().strip() or 0) for c in clients)
        return f"{requests} requests from {args.clients} clients in {elapsed:.1f} s", elapsed
    return clients, done


def dns_load(args, work):
    names = os.path.join(work, "names.txt")
    with open(names, "w") as f:
        f.writelines(f"q{i}.bench.test A\n" for i in range(10_000))
    perf = subprocess.Popen(["ip", "netns", "exec", POD, "dnsperf", "-s", "192.0.2.2", "-d", names,
                             "-l", f"{args.seconds:g}", "-Q", str(args.rate), "-c", str(args.clients)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def done(elapsed):
        out = perf.stdout.read()
        completed = re.search(r"Queries completed:\s+(\d+)", out)
        lost = re.search(r"Queries lost:\s+(\d+)", out)
        seconds = re.search(r"Run time \(s\):\s+([\d.]+)", out)
        if not (completed and lost and seconds):
            sys.exit(f"dnsperf failed:\n{out}")
        seconds = float(seconds.group(1))
        # Items/s over dnsperf's own run time (its start-up is not load).
        return (f"dnsperf -Q {args.rate} -c {args.clients}: {completed.group(1)} queries answered, "
                f"{lost.group(1)} lost, in {seconds:.1f} s ({int(completed.group(1)) / seconds:.0f}/s)"), seconds
    return [perf], done


def dns_new_port_load(args, work):
    script = os.path.join(work, "dns_new_port.py")
    with open(script, "w") as f:
        f.write(DNS_NEW_PORT)
    # Two processes at half the rate each, for headroom (a query costs Python ~0.1 ms).
    clients = [subprocess.Popen(["ip", "netns", "exec", POD, "python3", script, str(args.rate / 2), str(args.seconds),
                                 str(k * 10_000_000)], stdout=subprocess.PIPE, text=True) for k in range(2)]

    def done(elapsed):
        sent = answered = seconds = 0
        for c in clients:
            n, a, t = c.stdout.read().split()
            sent, answered, seconds = sent + int(n), answered + int(a), max(seconds, float(t))
        # Items/s over the clients' own run time (Python's start-up is not load).
        return (f"{sent} queries (each from a new port) at {args.rate}/s, {answered} answered, "
                f"in {seconds:.1f} s ({sent / seconds:.0f}/s)"), seconds
    return clients, done


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--load", choices=["http", "dns", "dns-new-port"], default="http")
    ap.add_argument("--rate", type=int, default=2000, help="--load dns*: queries per second")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--clients", type=int, default=4, help="HTTP clients, or dnsperf's sockets (-c)")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--eager-arena", action="store_true", help="mimalloc's default eager arena commit")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    if args.load != "http":
        for tool in ["dnsperf", "dnsmasq"] if args.load == "dns" else ["dnsmasq"]:
            if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
                sys.exit(f"{tool} is missing (apt-get install -y dnsperf dnsmasq-base)")
    sidecar_bin = sidecar_binary()
    work = tempfile.mkdtemp(prefix="remora-sidecar-bench-")
    procs = []
    try:
        netns_up()
        procs.append(start_http_server(work) if args.load == "http" else start_dns_server())
        # As the image runs it (Dockerfile: ENV MIMALLOC_ARENA_EAGER_COMMIT=0), unless
        # --eager-arena asks for mimalloc's default.
        env = dict(os.environ)
        if not args.eager_arena:
            env["MIMALLOC_ARENA_EAGER_COMMIT"] = "0"
        sidecar = subprocess.Popen(["ip", "netns", "exec", POD, sidecar_bin, "--health-listen", "127.0.0.1:15090",
                                    "--output", "none", "--data-dir", os.path.join(work, "data"),
                                    "--scripts-dir", os.path.join(work, "none")],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        procs.append(sidecar)
        time.sleep(5)
        idle = rss_kib(sidecar.pid)
        items0, drops0 = metric("remora_sidecar_items_total"), metric("remora_sidecar_kernel_dropped_total")
        load, done = {"http": http_load, "dns": dns_load, "dns-new-port": dns_new_port_load}[args.load](args, work)
        procs.extend(load)
        peak, start = idle, time.time()
        while any(c.poll() is None for c in load):
            peak = max(peak, rss_kib(sidecar.pid))
            time.sleep(0.5)
        what, elapsed = done(time.time() - start)
        time.sleep(2)  # the last items leave the pipeline
        items = metric("remora_sidecar_items_total") - items0
        drops = metric("remora_sidecar_kernel_dropped_total") - drops0
        after = rss_kib(sidecar.pid)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        netns_down()
        shutil.rmtree(work, ignore_errors=True)

    rows = [
        ("RSS idle (5 s after start)", f"{idle / 1024:.1f} MiB"),
        ("load", what),
        ("items/s during the load", f"{items / elapsed:.0f}"),
        ("RSS peak during the load", f"{peak / 1024:.1f} MiB"),
        ("RSS 2 s after the load", f"{after / 1024:.1f} MiB"),
        ("kernel drops during the load", str(drops)),
    ]
    print_rows(rows, args.markdown)


if __name__ == "__main__":
    main()
