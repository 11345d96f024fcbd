#!/usr/bin/env python3
"""Handlers written for other platforms, published by nobody here, analyzed as they are.

Downloads the platforms' own source distributions from PyPI (pinned: truss, litserve), unpacks
them, runs `gaia analyze --json` on every handler bench/platform_handlers.tsv labels, and prints
per handler the convention and mode found against the label, then: exact modes, conventions
recognised, handlers sent to a GPU that never use one, handlers sent to CPU that need one.
Usage: bench/platform_handlers.py [GAIA] [CACHE]   (defaults: .build/release/gaia, .build/platform-sdists)
"""
import json
import os
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGES = ["truss==0.18.36", "litserve==0.2.19"]


def fetch(cache):
    os.makedirs(cache, exist_ok=True)
    for package in PACKAGES:
        name, version = package.split("==")
        folder = os.path.join(cache, f"{name}-{version}")
        if os.path.isdir(folder):
            continue
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", "-d", cache, package],
                       check=True)
        archive = next(os.path.join(cache, f) for f in os.listdir(cache) if f.startswith(f"{name}-{version}") and f.endswith(".tar.gz"))
        with tarfile.open(archive) as tar:
            tar.extractall(cache, filter="data")


def main():
    gaia = sys.argv[1] if len(sys.argv) > 1 else ".build/release/gaia"
    cache = sys.argv[2] if len(sys.argv) > 2 else ".build/platform-sdists"
    fetch(cache)
    rows = [line.rstrip("\n").split("\t") for line in open(os.path.join(HERE, "platform_handlers.tsv")) if line.strip() and not line.startswith("#")]
    exact = recognised = to_gpu = to_cpu = 0
    print(f"{'handler':<72} {'convention':<12} {'label':<14} {'got':<14}")
    for path, label, convention, why in rows:
        result = subprocess.run([gaia, "analyze", os.path.join(cache, path), "--json"], capture_output=True, text=True)
        if result.returncode != 0:
            got, found = "refused", "-"
            detail = result.stderr.strip().splitlines()[0] if result.stderr.strip() else "?"
        else:
            manifest = json.loads(result.stdout)
            got, found, detail = manifest["mode"], manifest.get("convention") or "gaia", manifest["rationale"]
        exact += got == label
        recognised += found == convention
        to_gpu += label in ("cpu", "cpu_preferred") and got in ("gpu", "gpu_preferred")
        to_cpu += label == "gpu" and got in ("cpu", "cpu_preferred")
        mark = "" if got == label else f"   MISS ({why}; {detail[:160]})"
        print(f"{path:<72} {found:<12} {label:<14} {got:<14}{mark}")
    n = len(rows)
    print(f"\n{n} handlers: mode exact {exact}/{n} ({100 * exact / n:.1f}%), convention recognised {recognised}/{n}, "
          f"sent to a GPU they never use: {to_gpu}, sent to CPU though they need a GPU: {to_cpu}")


if __name__ == "__main__":
    main()
