#!/usr/bin/env python3
"""Render and lint a chart with Helm's own Go SDK (PyPI helm-python-sdk: no helm binary).

    python3 charts/tests/render.py CHART [--values FILE]... [--release remora] [--namespace remora]

Prints one JSON object: {"lint": {...Helm's lint report...}, "manifests": {template: text}}
or {"error": "..."} when values or templates are refused (exit status 0 either way; the
caller decides). Used by injector/tests/chart.rs.
"""

import argparse
import json
import sys

import helm_python as helm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("chart")
    ap.add_argument("--values", action="append", default=[])
    ap.add_argument("--release", default="remora")
    ap.add_argument("--namespace", default="remora")
    ap.add_argument("--kube-version", default="v1.34.0")
    args = ap.parse_args()

    values = {}
    for path in args.values:
        with open(path) as f:
            layer = helm.values_from_yaml(f.read()) or {}
        values = merge(values, layer)
    out = {}
    try:
        out["lint"] = helm.lint(args.chart, values, strict=True, namespace=args.namespace,
                                kube_version=args.kube_version)
        chart = helm.Chart.load(args.chart)
        chart.validate_schema(values)
        out["manifests"] = chart.render(values, name=args.release, namespace=args.namespace,
                                        is_install=True)
    except helm.HelmError as e:
        out["error"] = f"{type(e).__name__}: {e}"
    json.dump(out, sys.stdout)


def merge(base, layer):
    result = dict(base)
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


if __name__ == "__main__":
    main()
