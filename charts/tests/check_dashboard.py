#!/usr/bin/env python3
"""Checks a Grafana dashboard JSON against Grafana's schema as the SDK models it (PyPI
grafana-foundation-sdk): read through the SDK's Dashboard model and written back, every
field of the file must come back unchanged (a field the schema does not know is lost,
and reported). With --built, the file must also be build.py's output. Prints the
panels' queries as JSON lines {"panel", "expr"} for the caller to run.

    check_dashboard.py FILE [--built BUILD_SCRIPT]
"""

import json
import subprocess
import sys

from grafana_foundation_sdk.cog import plugins
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard


def lost(original, back, path="$"):
    """Where `back` lacks or changed what `original` has (back may add defaults)."""
    if isinstance(original, dict):
        if not isinstance(back, dict):
            return [f"{path}: became {type(back).__name__}"]
        out = []
        for key, value in original.items():
            if key not in back:
                out.append(f"{path}.{key}: not in Grafana's schema")
            else:
                out.extend(lost(value, back[key], f"{path}.{key}"))
        return out
    if isinstance(original, list):
        if not isinstance(back, list) or len(back) != len(original):
            return [f"{path}: list changed"]
        return [p for i, (a, b) in enumerate(zip(original, back)) for p in lost(a, b, f"{path}[{i}]")]
    return [] if original == back else [f"{path}: {original!r} came back as {back!r}"]


def main():
    path = sys.argv[1]
    with open(path) as f:
        text = f.read()
    board = json.loads(text)
    problems = []
    if "--built" in sys.argv:
        script = sys.argv[sys.argv.index("--built") + 1]
        built = subprocess.run([sys.executable, script], capture_output=True, text=True, check=True).stdout
        if built != text:
            problems.append(f"{path} is not the output of {script}: run it again")
    plugins.register_default_plugins()
    back = json.loads(JSONEncoder().encode(Dashboard.from_json(board)))
    problems.extend(lost(board, back))
    ids = [p.get("id") for p in board.get("panels", [])]
    if len(set(ids)) != len(ids) or None in ids:
        problems.append(f"panel ids are not unique: {ids}")
    for panel in board.get("panels", []):
        if panel.get("type") not in ("row", "stat", "timeseries"):
            problems.append(f"panel {panel.get('title')!r}: unexpected type {panel.get('type')!r}")
        refs = [t.get("refId") for t in panel.get("targets", [])]
        if len(set(refs)) != len(refs) or "" in refs:
            problems.append(f"panel {panel.get('title')!r}: refIds {refs}")
    if problems:
        sys.exit("\n".join(problems))
    for panel in board.get("panels", []):
        for target in panel.get("targets", []):
            print(json.dumps({"panel": panel["title"], "expr": target["expr"]}))


if __name__ == "__main__":
    main()
