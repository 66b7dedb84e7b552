"""Printing a benchmark's (measure, value) rows: aligned text, or a Markdown table for
docs/BENCHMARKS.md."""


def print_rows(rows, markdown):
    if markdown:
        print("| measure | value |\n| --- | --- |")
        for measure, value in rows:
            print(f"| {measure} | {value} |")
    else:
        width = max(len(measure) for measure, _ in rows)
        for measure, value in rows:
            print(f"{measure:{width}} {value}")


def sidecar_binary():
    """REMORA_SIDECAR_BIN, or `remora-sidecar` built now as the image builds it (the
    `image` profile: whole-program optimised)."""
    import os
    import subprocess
    given = os.environ.get("REMORA_SIDECAR_BIN")
    if given:
        return given
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run(["cargo", "build", "--profile", "image", "-q", "-p", "remora-sidecar", "--bin", "remora-sidecar"],
                   cwd=root, check=True)
    return os.path.join(root, "target", "image", "remora-sidecar")
