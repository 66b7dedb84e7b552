#!/usr/bin/env python3
"""Benchmark: the live sidecar's capture drops at a fixed packet rate (needs root).

Target (issue 7): no drops at 200,000 packets/s on one interface.

Makes two network namespaces joined by a veth pair (the "pod" at 192.0.2.2, a peer at
192.0.2.1; addresses that exist only inside them), starts `remora-sidecar` on the pod's end
(no hub, no stdout, no PCAPs, no scripts, `MIMALLOC_ARENA_EAGER_COMMIT=0` as the image
sets it) and, on the same interface with the same kernel buffer, `tcpdump -w /dev/null`
as the yardstick. From the peer namespace tcpreplay sends a pcap written here at a fixed
rate (`--pps`, default 200,000/s) for `--seconds`, addressed to the pod end's MAC:

  - `--traffic udp` (default): small datagrams (74-byte frames) on `--flows` UDP flows
    (one source port each) to 192.0.2.2:9: the pipeline's cheap path, as a flow that is
    not DNS is ignored after its first few packets;
  - `--traffic dns`: DNS queries, each followed by its answer, on `--flows` flows: an
    item per two packets (the pipeline's dissecting path).

`--stall-ms N` stops both captures (SIGSTOP) for N ms halfway through, as a busy node
would: their drops then show how long a stall the kernel buffer absorbs at this rate.
`--hogs N` runs N busy loops during the send on the last CPU, where both captures are
pinned (tcpreplay alone on CPU 0): the captures then compete for their CPU, as in a busy pod.

Reported: what tcpreplay sent and at what rate; the packets the pod's veth received; the
sidecar's /metrics counters over the run (packets, items, kernel received/dropped,
interface dropped); tcpdump's own counters for the same packets; the sidecar's CPU
(utime+stime over the send, in total and for its capture and pipeline threads, and how
long those threads waited for a CPU: the scheduler's run-queue time), tcpdump's
and tcpreplay's CPU, the whole machine's busy share; the sidecar's RSS before and its peak.
A veth delivers each packet in the sender's context, so tcpreplay's CPU includes the
kernel's work of handing every packet to both captures; tcpreplay is one thread, and
what it reaches is printed, not assumed.

    apt-get install -y tcpreplay tcpdump         # besides curl and iproute2
    sudo python3 bench/capture_drops.py [--pps 200000] [--seconds 10] [--traffic udp|dns]
                                        [--capture-buffer-bytes 3145728] [--stall-ms N]
                                        [--hogs N] [--no-tcpdump] [--markdown]

It builds the release binary with cargo first; REMORA_SIDECAR_BIN=/path/remora-sidecar
uses that binary instead (no build).
"""

import argparse
import json
import math
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import print_rows, sidecar_binary  # noqa: E402
import netns  # noqa: E402
from netns import rss_kib, sh  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POD, PEER = "rmrbdrops", "rmrbdropp"
POD_IF, PEER_IF = "rmrbdra", "rmrbdrb"
POD_IP, PEER_IP = "192.0.2.2", "192.0.2.1"
HZ = os.sysconf("SC_CLK_TCK")


def netns_up():
    netns.up(POD, PEER, POD_IF, PEER_IF, POD_IP + "/24", PEER_IP + "/24", ipv6=False)


def netns_down():
    netns.down(POD, PEER)


def link(ns, dev):
    return json.loads(sh("ip", "-n", ns, "-j", "-s", "link", "show", "dev", dev))[0]


def mac(ns, dev):
    return bytes.fromhex(link(ns, dev)["address"].replace(":", ""))


# --- the pcap ---------------------------------------------------------------------------

def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(dst_mac, src_mac, src, dst, sport, dport, payload, ident):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident & 0xFFFF, 0x4000, 64, 17, 0,
                       bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    head = head[:10] + struct.pack("!H", checksum(head)) + head[12:]
    return dst_mac + src_mac + b"\x08\x00" + head + udp


def dns_name(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def write_pcap(path, traffic, flows, dst_mac, src_mac):
    """Returns the number of packets written. UDP: 10,000 datagrams over `flows` source
    ports. DNS: 5,000 A queries for distinct names, each followed by its answer."""
    frames = []
    if traffic == "udp":
        for k in range(max(flows, 10_000)):
            payload = struct.pack("!I", k) + b"remora-capture-drops-bench!!"  # 32 bytes
            frames.append(frame(dst_mac, src_mac, PEER_IP, POD_IP, 20_000 + k % flows, 9, payload, k))
    else:
        for k in range(5_000):
            qid, sport = k & 0xFFFF, 20_000 + k % flows
            question = dns_name(f"q{k}.bench.test") + struct.pack("!HH", 1, 1)
            query = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question
            answer = (struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question
                      + struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + bytes([192, 0, 2, 9]))
            frames.append(frame(dst_mac, src_mac, PEER_IP, POD_IP, sport, 53, query, 2 * k))
            frames.append(frame(dst_mac, src_mac, POD_IP, PEER_IP, 53, sport, answer, 2 * k + 1))
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, data in enumerate(frames):
            f.write(struct.pack("<IIII", 1_700_000_000 + i // 100_000, (i * 10) % 1_000_000, len(data), len(data)))
            f.write(data)
    return len(frames), sum(len(d) for d in frames) / len(frames)


# --- measuring --------------------------------------------------------------------------

def metrics():
    out = subprocess.run(["ip", "netns", "exec", POD, "curl", "-s", "http://127.0.0.1:15090/metrics"],
                         capture_output=True, text=True).stdout
    values = {}
    for line in out.splitlines():
        if line.startswith("remora_sidecar_"):
            name = line.split("{", 1)[0].split(" ", 1)[0]
            values[name] = values.get(name, 0) + int(float(line.rsplit(" ", 1)[1]))
    return values


def ready():
    out = subprocess.run(["ip", "netns", "exec", POD, "curl", "-s", "http://127.0.0.1:15090/readyz"],
                         capture_output=True, text=True).stdout
    return out.startswith("capturing")


def threads_stat(pid):
    """{thread name: [utime+stime ticks, ns spent waiting for a CPU]} (threads of the same
    name summed); the wait is the scheduler's run-queue time (/proc/.../schedstat)."""
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                waited = int(f.read().split()[1])
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        entry = threads.setdefault(name, [0, 0])
        entry[0] += int(fields[11]) + int(fields[12])
        entry[1] += waited
    return threads


def process_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def sched_wait_ns(pid):
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[1])


def machine_ticks():
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values[:8]), idle, values[6]  # total, idle + iowait, softirq


class Peak(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, rss_kib(pid), threading.Event()

    def run(self):
        while not self.done.wait(0.25):
            self.peak = max(self.peak, rss_kib(self.pid))


def stop(proc, sig=signal.SIGTERM):
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def fmt(n):
    return f"{n:,.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pps", type=int, default=200_000, help="packets per second tcpreplay sends")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--traffic", choices=["udp", "dns"], default="udp")
    ap.add_argument("--flows", type=int, default=1000, help="distinct source ports")
    ap.add_argument("--capture-buffer-bytes", type=int, default=3 << 20,
                    help="the sidecar's kernel buffer; tcpdump gets the same (-B)")
    ap.add_argument("--pps-multi", type=int, default=0,
                    help="packets tcpreplay sends per timing interval (0: pps/20,000, at least 1)")
    ap.add_argument("--no-tcpdump", action="store_true", help="the sidecar alone")
    ap.add_argument("--hogs", type=int, default=0,
                    help="busy-loop processes running during the send (a busy node: the captures compete for CPU)")
    ap.add_argument("--stall-ms", type=int, default=0,
                    help="halfway through, stop both captures (SIGSTOP) this long: how long a stall the "
                         "kernel buffer absorbs at this rate")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    for tool in ["tcpreplay", "tcpdump", "curl", "ip"]:
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            sys.exit(f"{tool} is missing (apt-get install -y tcpreplay tcpdump curl iproute2)")
    binary = sidecar_binary()
    # With hogs: tcpreplay (and the kernel's delivery, in its context) alone on the first
    # CPU, the captures and the hogs on the last, so the hogs slow the captures, not the sender.
    last = str(os.cpu_count() - 1)
    capture_cpu = ["taskset", "-c", last] if args.hogs else []
    sender_cpu = ["taskset", "-c", "0"] if args.hogs else []
    work = tempfile.mkdtemp(prefix="remora-capture-drops-")
    procs = []
    try:
        netns_up()
        pcap = os.path.join(work, "traffic.pcap")
        in_pcap, frame_bytes = write_pcap(pcap, args.traffic, args.flows, mac(POD, POD_IF), mac(PEER, PEER_IF))
        total = int(args.pps * args.seconds)

        env = dict(os.environ, MIMALLOC_ARENA_EAGER_COMMIT="0")
        sidecar = subprocess.Popen(
            ["ip", "netns", "exec", POD, *capture_cpu, binary, "--interfaces", POD_IF, "--health-listen", "127.0.0.1:15090",
             "--output", "none", "--data-dir", os.path.join(work, "data"), "--scripts-dir", os.path.join(work, "none"),
             "--pcap-retention-bytes", "0", "--capture-buffer-bytes", str(args.capture_buffer_bytes)],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "sidecar.log"), "w"), env=env)
        procs.append(sidecar)
        tcpdump = None
        if not args.no_tcpdump:
            tcpdump = subprocess.Popen(
                ["ip", "netns", "exec", POD, *capture_cpu, "tcpdump", "-i", POD_IF, "-n", "-s", "65535", "-w", "/dev/null",
                 "-B", str(args.capture_buffer_bytes // 1024)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            procs.append(tcpdump)
        deadline = time.time() + 20
        while not ready():
            if time.time() > deadline or sidecar.poll() is not None:
                with open(os.path.join(work, "sidecar.log")) as log:
                    sys.exit(f"the sidecar did not start capturing:\n{log.read()}")
            time.sleep(0.2)
        time.sleep(3)  # both captures settled; the sidecar idle

        rss_idle = rss_kib(sidecar.pid)
        m0, link0 = metrics(), link(POD, POD_IF)
        t0, s0, mach0 = threads_stat(sidecar.pid), process_ticks(sidecar.pid), machine_ticks()
        d0, w0 = (process_ticks(tcpdump.pid), sched_wait_ns(tcpdump.pid)) if tcpdump else (0, 0)
        peak = Peak(sidecar.pid)
        peak.start()
        hogs = [subprocess.Popen([*capture_cpu, sys.executable, "-c", "while True: pass"]) for _ in range(args.hogs)]
        procs.extend(hogs)
        multi = args.pps_multi or max(1, args.pps // 20_000)
        loops = math.ceil(total / in_pcap)
        start = time.time()
        replay = subprocess.Popen(
            ["ip", "netns", "exec", PEER, *sender_cpu, "tcpreplay", "-i", PEER_IF, "-K", "--no-flow-stats",
             f"--pps={args.pps}", f"--pps-multi={multi}", f"--loop={loops}", f"--limit={total}", pcap],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if args.stall_ms:
            stalled = [p.pid for p in (sidecar, tcpdump) if p]

            def stall():
                time.sleep(args.seconds / 2)
                for pid in stalled:
                    os.kill(pid, signal.SIGSTOP)
                time.sleep(args.stall_ms / 1000)
                for pid in stalled:
                    os.kill(pid, signal.SIGCONT)

            staller = threading.Thread(target=stall, daemon=True)
            staller.start()
        _, status, usage = os.wait4(replay.pid, 0)
        if args.stall_ms:
            staller.join()
        elapsed = time.time() - start
        replay.returncode = os.waitstatus_to_exitcode(status)
        replay_out = replay.stdout.read()
        t1, s1, mach1 = threads_stat(sidecar.pid), process_ticks(sidecar.pid), machine_ticks()
        d1, w1 = (process_ticks(tcpdump.pid), sched_wait_ns(tcpdump.pid)) if tcpdump else (0, 0)
        for hog in hogs:
            stop(hog, signal.SIGKILL)
        time.sleep(2.5)  # the pipeline drains; libpcap's counters are read every second
        peak.done.set()
        peak.join()
        m1, link1 = metrics(), link(POD, POD_IF)
        rss_after = rss_kib(sidecar.pid)
        dump = {}
        if tcpdump:
            stop(tcpdump, signal.SIGINT)
            for line in tcpdump.stderr.read().splitlines():
                found = re.match(r"(\d+) packets? (captured|received by filter|dropped by kernel)", line)
                if found:
                    dump[found.group(2)] = int(found.group(1))
        stop(sidecar)
    finally:
        for p in procs:
            if p.poll() is None:
                stop(p)
        netns_down()
        shutil.rmtree(work, ignore_errors=True)

    if replay.returncode != 0:
        sys.exit(f"tcpreplay failed ({replay.returncode}):\n{replay_out}")
    actual = re.search(r"Actual: (\d+) packets .* sent in ([\d.]+) seconds", replay_out)
    rated = re.search(r"Rated: .*?([\d.]+) pps", replay_out)
    failed = re.search(r"Failed packets:\s+(\d+)", replay_out)
    sent, send_seconds = int(actual.group(1)), float(actual.group(2))
    pps = float(rated.group(1)) if rated else sent / send_seconds

    def delta(name):
        return m1.get(name, 0) - m0.get(name, 0)

    def pct(ticks):
        return f"{100 * ticks / HZ / elapsed:.0f}%"

    tdelta = {name: [a - b for a, b in zip(t1[name], t0.get(name, [0, 0]))] for name in t1}
    capture_ticks, capture_wait = (sum(v[i] for k, v in tdelta.items() if k.startswith("capture-")) for i in (0, 1))
    pipeline_ticks, pipeline_wait = tdelta.get("remora-sidecar", [0, 0])
    total_ticks, idle_ticks, softirq_ticks = (a - b for a, b in zip(mach1, mach0))
    rx = link1["stats64"]["rx"]["packets"] - link0["stats64"]["rx"]["packets"]
    rx_dropped = link1["stats64"]["rx"]["dropped"] - link0["stats64"]["rx"]["dropped"]
    packets = delta("remora_sidecar_packets_total")
    per_packet = pipeline_ticks / HZ / packets * 1e6 if packets and pipeline_ticks else 0

    rows = [
        ("traffic", f"{args.traffic}: {in_pcap:,} packets in the pcap ({frame_bytes:.0f}-byte frames on average), "
                    f"{args.flows} flows, looped"),
        ("tcpreplay asked", f"{fmt(args.pps)} packets/s for {args.seconds:g} s ({fmt(total)} packets, --pps-multi={multi})"),
        ("tcpreplay sent", f"{fmt(sent)} packets in {send_seconds:.2f} s: {fmt(pps)} packets/s"
                           f" ({failed.group(1) if failed else '?'} failed)"),
        ("pod veth received (ip -s link)", f"{fmt(rx)} (rx dropped {rx_dropped})"),
        ("sidecar: kernel received", fmt(delta("remora_sidecar_kernel_received_total"))),
        ("sidecar: kernel dropped", fmt(delta("remora_sidecar_kernel_dropped_total"))),
        ("sidecar: interface dropped", fmt(delta("remora_sidecar_interface_dropped_total"))),
        ("sidecar: packets to the pipeline", fmt(packets)),
        ("sidecar: items", fmt(delta("remora_sidecar_items_total"))),
    ]
    if tcpdump:
        rows += [
            ("tcpdump: received by filter", fmt(dump.get("received by filter", 0))),
            ("tcpdump: dropped by kernel", fmt(dump.get("dropped by kernel", 0))),
            ("tcpdump: captured", fmt(dump.get("captured", 0))),
        ]
    rows += [
        ("sidecar CPU during the send", f"{pct(s1 - s0)} of one core (capture thread {pct(capture_ticks)}, "
                                        f"pipeline {pct(pipeline_ticks)})"),
        ("sidecar threads waiting for a CPU", f"capture {capture_wait / 1e6:.0f} ms, pipeline {pipeline_wait / 1e6:.0f} ms "
                                              f"(run-queue time over the {elapsed:.1f} s send)"),
        ("sidecar pipeline time per packet", f"{per_packet:.2f} µs" + (f" (~{fmt(1e6 / per_packet)} packets/s per core)" if per_packet else "")),
    ]
    if tcpdump:
        rows.append(("tcpdump CPU during the send", f"{pct(d1 - d0)} (waited for a CPU {(w1 - w0) / 1e6:.0f} ms)"))
    rows += [
        ("tcpreplay CPU (user+sys)", f"{100 * (usage.ru_utime + usage.ru_stime) / elapsed:.0f}%"),
        ("machine busy during the send", f"{100 * (total_ticks - idle_ticks) / total_ticks:.0f}% of {os.cpu_count()} cores "
                                         f"(softirq {100 * softirq_ticks / total_ticks:.0f}%)"),
        ("sidecar RSS idle / peak / after", f"{rss_idle / 1024:.1f} / {peak.peak / 1024:.1f} / {rss_after / 1024:.1f} MiB"),
        ("capture buffer (sidecar and tcpdump)" if tcpdump else "capture buffer",
         f"{args.capture_buffer_bytes / (1 << 20):g} MiB"),
    ]
    if args.hogs:
        rows.append(("CPU hogs", f"{args.hogs} busy loops ran during the send on CPU {last} with the captures "
                                 f"(tcpreplay alone on CPU 0)"))
    if args.stall_ms:
        rows.append(("stall", f"{'both captures' if tcpdump else 'the sidecar'} stopped (SIGSTOP) for {args.stall_ms} ms halfway: "
                              f"{fmt(pps * args.stall_ms / 1000)} packets arrived meanwhile"))
    print_rows(rows, args.markdown)


if __name__ == "__main__":
    main()
