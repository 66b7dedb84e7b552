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
