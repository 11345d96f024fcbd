#!/usr/bin/env python3
"""Plots simulated runs over the published prototype's real ones, request by request.

  bench/overlay.py REQUESTS_CSV WORKLOAD OUT.svg [THESIS_DIR]

REQUESTS_CSV is what `gaia simulate --requests FILE` writes; WORKLOAD is matmul (x: matrix size) or
idle (x: request number); THESIS_DIR defaults to ../shared/data/gaia-thesis. Prints, per policy,
the simulated and the real mean after the first request. Standard library only.
"""
import csv
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "gpu"))
from drive import svg_plot  # noqa: E402  (the same small SVG writer as the GPU experiment)

REAL = {  # policy -> the prototype's raw run of the same experiment
    "matmul": {"static-cpu": "matmul-increment-cpu.csv", "static-gpu": "matmul-increment-gpu.csv", "gaia-prototype": "matmul-increment-auto.csv"},
    "idle": {"gaia-prototype": "idle-auto.csv"},
}
COLOURS = {"static-cpu": "#1f77b4", "static-gpu": "#d62728", "gaia-prototype": "#2ca02c", "gaia": "#9467bd"}


def real_run(path, workload):
    rows = []
    with open(path) as f:
        for i, row in enumerate(csv.DictReader(f)):
            try:
                x = float(row["matrix_size"]) if workload == "matmul" else float(len(rows))
                rows.append((x, float(row["response_time_ms"])))
            except (KeyError, TypeError, ValueError):
                continue  # "Graph until here" and other notes in the raw files
    return rows


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    requests, workload, out = sys.argv[1:4]
    thesis = sys.argv[4] if len(sys.argv) > 4 else os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "gaia-thesis")
    simulated = {}
    with open(requests) as f:
        for row in csv.DictReader(f):
            x = float(row["size"]) if workload == "matmul" else float(row["index"])
            simulated.setdefault(row["policy"], []).append((int(row["index"]), x, float(row["latency_ms"])))
    series = []
    for policy, rows in simulated.items():
        rows.sort()
        points = [(x, ms) for _, x, ms in rows]
        colour = COLOURS.get(policy, "black")
        series.append((f"simulated {policy}", colour, "", points[1:]))
        line = f"{policy}: simulated mean after the first request {statistics.fmean(ms for _, ms in points[1:]):.0f} ms"
        name = REAL.get(workload, {}).get(policy)
        if name and os.path.exists(os.path.join(thesis, name)):
            real = real_run(os.path.join(thesis, name), workload)
            series.append((f"prototype's real run ({policy})", colour, "5,4", real[1:]))
            line += f", real {statistics.fmean(ms for _, ms in real[1:]):.0f} ms ({name})"
        print(line)
    x_label = "matrix size n" if workload == "matmul" else "request number"
    svg_plot(series, f"{workload}: simulated (solid) over the prototype's real runs (dashed)", x_label, "latency (ms)", out)


if __name__ == "__main__":
    main()
