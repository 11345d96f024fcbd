"""End-to-end time of `gaia analyze FILE` vs the published prototype's approach in Python.

Usage: python3 analyze_compare.py GAIA_BINARY FILE [RUNS]
Each side is run RUNS times as a fresh process (start to exit), same harness, alternating.
The prototype side is `python3 -c '<ast walk with string matching>'`, started the way a user
would start it (`python3` on PATH); the real interpreter with -S is timed too, for reference.
"""
import os
import statistics
import subprocess
import sys
import time

PROTOTYPE = r'''
import ast, sys
src = open(sys.argv[1]).read()
tree = ast.parse(src)
gpu_libs = {"torch", "tensorflow"}
uses_dl = explicit = big = False
for node in ast.walk(tree):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
        uses_dl |= any(n.split(".")[0] in gpu_libs for n in names)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "cuda" or (node.func.attr == "to" and node.args and isinstance(node.args[0], ast.Constant) and str(node.args[0].value).startswith("cuda")):
            explicit = True
        if node.func.attr in ("randn", "rand", "zeros", "ones"):
            dims = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, int)]
            size = 1
            for d in dims: size *= d
            big |= bool(dims) and size > 1000
print("gpu" if explicit else "gpu_preferred" if uses_dl and big else "cpu_preferred" if uses_dl else "cpu")
'''


def timed(command, runs):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main():
    gaia, path = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    real_python = subprocess.run(["python3", "-c", "import sys; print(sys.executable)"], capture_output=True, text=True).stdout.strip()
    sides = {
        "gaia analyze (Swift, static binary)": [gaia, "analyze", path],
        "prototype: python3 -c 'import ast …'": ["python3", "-c", PROTOTYPE, path],
        f"prototype: {real_python} -S -c": [real_python, "-S", "-c", PROTOTYPE, path],
    }
    for command in sides.values():
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # warm the page cache
    results = {name: [] for name in sides}
    for _ in range(runs):  # alternate so drift hits every side alike
        for name, command in sides.items():
            results[name] += timed(command, 1)
    print(f"file: {path} ({sum(1 for _ in open(path))} lines), {runs} runs each, process start to exit")
    for name, samples in results.items():
        print(f"  {name:55s} p50 {statistics.median(samples):7.2f} ms   mean {statistics.mean(samples):7.2f} ms   min {min(samples):7.2f} ms")
    gaia_p50 = statistics.median(results[next(iter(sides))])
    names = list(sides)
    print(f"speed-up, p50: {statistics.median(results[names[1]]) / gaia_p50:.1f}x over `python3 -c`, "
          f"{statistics.median(results[names[2]]) / gaia_p50:.1f}x over the real interpreter with -S")


if __name__ == "__main__":
    main()
