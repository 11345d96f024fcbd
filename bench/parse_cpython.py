"""CPython's ast.parse over the same corpus as bench/parse: `python3.12 parse_cpython.py DIR [ROUNDS]`.

Reads every .py file first, then times ast.parse only (best of ROUNDS), like the Swift benchmark.
"""
import ast
import os
import sys
import time
import warnings

warnings.simplefilter("ignore")
root = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
paths = []
for directory, subdirs, files in os.walk(root):
    subdirs[:] = [d for d in subdirs if d != "site-packages"]
    paths += [os.path.join(directory, f) for f in files if f.endswith(".py")]
sources = []
for path in sorted(paths):
    with open(path, "rb") as f:
        sources.append(f.read())
valid = []
for source in sources:
    try:
        ast.parse(source)
        valid.append(source)
    except (SyntaxError, ValueError):
        pass
lines = sum(s.count(b"\n") + 1 for s in valid)
best = float("inf")
for r in range(rounds):
    start = time.perf_counter()
    for source in valid:
        ast.parse(source)
    elapsed = time.perf_counter() - start
    best = min(best, elapsed)
    print(f"  round {r + 1}: {elapsed:.3f} s")
print(f"CPython {sys.version.split()[0]} ast.parse: best {best:.3f} s = {lines / best:,.0f} lines/s ({len(valid)} files)")
print(f"RESULT cpython_seconds={best:.4f} lines={lines}")
