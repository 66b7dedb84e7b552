#!/usr/bin/env python3
"""Benchmark: the webhook under load from a second process on loopback.

Starts the release `remora-injector` pinned to one core (taskset -c 0), with
certificates from `remora certs generate`, logging at its default level (info, one
line per review) to a file. The load generator (injector/examples/admission_load.rs),
pinned to the other core, posts the AdmissionReview of a real Deployment pod
(injector/tests/golden/deployment-pod.in.yaml) over TLS, trusting only the generated CA:

  1. open loop at --rate reviews/s for --seconds: p50/p90/p99/max latency, timed from
     each review's scheduled send time, and the injector's CPU use;
  2. closed loop with 8 reviews in flight: the most admissions per second on one core.

    python3 bench/injector_load.py [--rate 500] [--seconds 20] [--markdown]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import print_rows  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")
HOST = "remora-injector.remora.svc"
POD = os.path.join(ROOT, "injector", "tests", "golden", "deployment-pod.in.yaml")


def build():
    subprocess.run(
        ["cargo", "build", "--release", "-q", "-p", "remora", "-p", "remora-injector",
         "--bin", "remora", "--bin", "remora-injector", "--example", "admission_load"],
        cwd=ROOT, check=True)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def wait_ready(admin, proc):
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("remora-injector exited early; see its log")
        try:
            with urllib.request.urlopen(f"http://{admin}/readyz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("remora-injector not ready within 20 s")


def load(port, ca, rate, seconds, concurrency=8):
    out = subprocess.run(
        ["taskset", "-c", "1", os.path.join(RELEASE, "examples", "admission_load"),
         "--url", f"https://{HOST}:{port}/mutate", "--connect", f"127.0.0.1:{port}",
         "--ca", ca, "--pod", POD, "--rate", str(rate), "--seconds", str(seconds),
         "--concurrency", str(concurrency)],
        check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=500)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if not args.no_build:
        build()

    work = tempfile.mkdtemp(prefix="remora-injector-bench-")
    certs = os.path.join(work, "certs")
    subprocess.run([os.path.join(RELEASE, "remora"), "certs", "generate", "--out", certs],
                   check=True, capture_output=True)
    namespaces = os.path.join(work, "namespaces.yaml")
    with open(namespaces, "w") as f:
        f.write("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"
                "  labels:\n    remora.dev/inject: enabled\n")
    port, admin = 18443, "127.0.0.1:18480"
    log = open(os.path.join(work, "injector.log"), "w")
    proc = subprocess.Popen(
        ["taskset", "-c", "0", os.path.join(RELEASE, "remora-injector"),
         "--cert-dir", certs, "--listen", f"127.0.0.1:{port}", "--admin-listen", admin,
         "--namespaces", namespaces],
        stderr=log)
    try:
        wait_ready(admin, proc)
        ca = os.path.join(certs, "ca.crt")
        cpu0, t0 = cpu_seconds(proc.pid), time.time()
        opened = load(port, ca, args.rate, args.seconds)
        cpu = (cpu_seconds(proc.pid) - cpu0) / (time.time() - t0)
        closed = load(port, ca, 0, 10)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    lines = 0
    inside = []
    with open(os.path.join(work, "injector.log")) as f:
        for line in f:
            lines += 1
            if "micros=" in line:
                inside.append(int(line.rsplit("micros=", 1)[1].split()[0]))
    # The open-loop run's reviews (after the 20 warm-up ones): time inside the injector.
    served = sorted(inside[20:20 + opened["answered"]])
    pct = lambda p: served[min(len(served) - 1, round(p / 100 * (len(served) - 1)))] / 1000

    rows = [
        ("open loop, target rate", f"{opened['target_rate']:.0f}/s"),
        ("answered (injected) / failed", f"{opened['answered']} / {opened['failed']}"),
        ("achieved rate", f"{opened['rate']:.0f}/s"),
        ("latency p50 / p90 / p99 / max", f"{opened['p50_ms']:.2f} / {opened['p90_ms']:.2f} / "
                                          f"{opened['p99_ms']:.2f} / {opened['max_ms']:.2f} ms"),
        ("of which inside the injector p50 / p99", f"{pct(50):.3f} / {pct(99):.3f} ms"),
        ("injector CPU at that rate", f"{cpu * 100:.0f}% of one core"),
        ("closed loop, 8 in flight: admissions/s", f"{closed['rate']:.0f}/s "
                                                   f"(p50 {closed['p50_ms']:.2f} ms, p99 {closed['p99_ms']:.2f} ms, "
                                                   f"failed {closed['failed']})"),
        ("review body", f"{opened['body_bytes']} bytes"),
        ("log lines written", str(lines)),
    ]
    print_rows(rows, args.markdown)
    ok = opened["failed"] == 0 and opened["p99_ms"] <= 2.0
    print(f"\ntarget p99 <= 2 ms at {args.rate:.0f}/s on one core: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
