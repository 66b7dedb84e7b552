#!/usr/bin/env python3
"""Benchmark: KFL queries over a hub store of a million items.

Builds the release `query_store` example and `remora` (to make real items: the sample
captures of examples/captures replayed), fills an in-process store with `--count` items
made from them (each stamped with one of 200 pods in 50 namespaces, 10 ms apart), and
times queries as `GET /api/items` runs them (newest first, a page of at most 1,000): those
the store's index decides alone, and those that leave items to parse.

    python3 bench/hub_query.py [--count 1000000] [--runs 5] [--max-item-bytes 4096] [--markdown]
"""

import argparse
import json
import os
import subprocess
import sys
import shutil
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import print_rows  # noqa: E402
from hub_ingest import make_items, RELEASE, ROOT  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--max-item-bytes", type=int, default=4096,
                    help="leave out sample items larger than this (a million of the largest would not fit in memory)")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "remora-hub", "--example", "query_store",
                    "-p", "remora", "--bin", "remora"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="remora-hub-query-")
    path, _, _ = make_items(work)
    with open(path) as f:
        lines = [line for line in f.read().splitlines() if line.strip() and len(line) <= args.max_item_bytes]
    small = os.path.join(work, "small.jsonl")
    with open(small, "w") as f:
        f.write("\n".join(lines) + "\n")
    protocols = sorted({json.loads(line)["protocol"]["name"] for line in lines})
    out = subprocess.run([os.path.join(RELEASE, "examples", "query_store"), "--items", small, "--count", str(args.count),
                          "--runs", str(args.runs)], check=True, capture_output=True, text=True).stdout
    rows = [("items", f"{len(lines)} real items from examples/captures ({', '.join(protocols)}), "
                      f"at most {args.max_item_bytes} bytes, cycled")]
    for line in out.splitlines():
        m = json.loads(line)
        if m["measure"] == "fill":
            rows.append(("store", f"{m['items']:,} items, {m['bytes'] / 2**20:,.0f} MiB counted; filled (stamped and indexed) "
                                  f"at {m['items'] / m['seconds']:,.0f} items/s"))
        else:
            rows.append((f"`{m['query']}`", f"{m['best_ms']:.1f} ms best, {m['median_ms']:.1f} ms median of {args.runs}; "
                                           f"{m['matched']} shown, {m['parsed']:,} parsed"))
    shutil.rmtree(work, ignore_errors=True)
    print_rows(rows, args.markdown)


if __name__ == "__main__":
    main()
