#!/usr/bin/env python3
"""Benchmark: how many items per second the hub ingests from sidecar sessions.

Builds the release `remora-hub`, its `ingest_load` example and `remora` (to make real
items: the sample captures of examples/captures replayed), starts the hub pinned to CPU 0
and the load generator pinned to CPU 1 (both on loopback), and reports, for the journal
off (memory only) and on (--data-dir on this machine's disk, flushed before each
acknowledgement): items acknowledged per second, the hub's CPU use, its RSS at the end.
The load speaks the sidecar wire: N sessions, numbered batches of 256 items, up to 8
batches unacknowledged each (as the sidecar's outbox sends them).

    python3 bench/hub_ingest.py [--sidecars 8] [--seconds 10] [--runs 3] [--markdown]

Each configuration runs `--runs` times; the run with the most items/s is reported.
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import shutil
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import print_rows  # noqa: E402
from netns import rss_kib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_items(work):
    captures = sorted(glob.glob(os.path.join(ROOT, "examples", "captures", "*.pcap*")))
    out = subprocess.run([os.path.join(RELEASE, "remora"), "replay", "-o", "json", *captures],
                         check=True, capture_output=True, text=True).stdout
    path = os.path.join(work, "items.jsonl")
    with open(path, "w") as f:
        f.write(out)
    lines = [line for line in out.splitlines() if line.strip()]
    return path, len(lines), sum(len(line) for line in lines) / max(len(lines), 1)


QUERY = "http and response.status == 404"


def query_loop(port, stop, answered):
    """Asks the hub's API for a page of items again and again until `stop` is set: a
    query the index leaves open (every HTTP item is parsed)."""
    import urllib.parse
    import urllib.request
    url = f"http://127.0.0.1:{port}/api/items?" + urllib.parse.urlencode({"kfl": QUERY, "limit": 1000})
    request = urllib.request.Request(url, headers={"Authorization": "Bearer bench-token"})
    while not stop.is_set():
        with urllib.request.urlopen(request, timeout=60) as response:
            json.loads(response.read())
        answered.append(time.monotonic())


def run(work, items, args, journal, port, querying=False):
    tokens = os.path.join(work, "tokens")
    command = ["taskset", "-c", "0", os.path.join(RELEASE, "remora-hub"), "--listen", f"127.0.0.1:{port}",
               "--api-listen", f"127.0.0.1:{port + 1}", "--token-file", tokens, "--log", "warn",
               "--max-items", "100000"]
    if journal:
        command += ["--data-dir", os.path.join(work, f"journal-{port}")]
    hub = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        cpu0 = cpu_seconds(hub.pid)
        import threading
        stop, answered = threading.Event(), []
        querier = threading.Thread(target=query_loop, args=(port + 1, stop, answered)) if querying else None
        if querier:
            querier.start()
        load = subprocess.run(["taskset", "-c", "1", os.path.join(RELEASE, "examples", "ingest_load"),
                               "--url", f"ws://127.0.0.1:{port}", "--token-file", tokens, "--items", items,
                               "--sidecars", str(args.sidecars), "--seconds", str(args.seconds)],
                              check=True, capture_output=True, text=True)
        stop.set()
        if querier:
            querier.join()
        result = json.loads(load.stdout)
        cpu = cpu_seconds(hub.pid) - cpu0
        rss = rss_kib(hub.pid) / 1024
    finally:
        hub.terminate()
        hub.wait(timeout=30)
    return result["items"] / result["seconds"], cpu / result["seconds"], rss, len(answered)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sidecars", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--runs", type=int, default=3, help="runs of each configuration; the best counts (the machine is shared)")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "remora-hub", "--bin", "remora-hub",
                    "--example", "ingest_load", "-p", "remora", "--bin", "remora"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="remora-hub-bench-")
    with open(os.path.join(work, "tokens"), "w") as f:
        f.write("bench-token\n")
    items, count, size = make_items(work)
    rows = [("items sent", f"{count} real items from examples/captures, cycled (mean {size:.0f} bytes of JSON)"),
            ("load", f"{args.sidecars} sidecar sessions for {args.seconds:.0f} s, hub on CPU 0, load on CPU 1; best of {args.runs} runs")]
    for journal, querying, port in ((False, False, 18898), (True, False, 18908), (False, True, 18918)):
        rate, cores, rss, queries = max(run(work, items, args, journal, port + 2 * r, querying) for r in range(args.runs))
        name = "journal on (--data-dir)" if journal else "memory only"
        if querying:
            name = "memory only, queried meanwhile"
            rows.append((f"{name}: queries answered", f"{queries} pages of `{QUERY}` (up to 1,000 items) over the store as it filled"))
        rows.append((f"{name}: items/s acknowledged", f"{rate:,.0f}"))
        rows.append((f"{name}: hub CPU", f"{cores * 100:.0f}% of a core"))
        rows.append((f"{name}: hub RSS at the end", f"{rss:.0f} MiB (store bounded at 100,000 items)"))
    shutil.rmtree(work, ignore_errors=True)
    print_rows(rows, args.markdown)


if __name__ == "__main__":
    main()
