"""Two network namespaces joined by a veth pair, for the benchmarks that need root.
Addresses are 192.0.2.0/24 (documentation addresses that exist only inside them)."""

import subprocess


def sh(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def rss_kib(pid):
    """A process's resident memory, KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def down(*namespaces):
    for ns in namespaces:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def up(pod, peer, pod_if, peer_if, pod_addr, peer_addr, ipv6=True):
    """(Re)makes `pod` and `peer` with `pod_if`/`peer_if` at `pod_addr`/`peer_addr`
    (CIDR); `ipv6=False` keeps router solicitations and DAD out of packet counts."""
    down(pod, peer)
    sh("ip", "netns", "add", pod)
    sh("ip", "netns", "add", peer)
    sh("ip", "link", "add", pod_if, "netns", pod, "type", "veth", "peer", "name", peer_if, "netns", peer)
    for ns, dev, addr in [(pod, pod_if, pod_addr), (peer, peer_if, peer_addr)]:
        if not ipv6:
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
        sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
