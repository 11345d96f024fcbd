#!/usr/bin/env bash
# `gaia analyze` end to end (process start to exit) vs the prototype's Python approach, same run.
# Usage: bench/analyze.sh [FILE] [RUNS]   (default: examples/matmul/handler.py, 30 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:-examples/matmul/handler.py}
runs=${2:-30}
echo "== building release (static Swift stdlib, non-PIE)"
# Non-PIE: the static binary then needs no start-up relocation pass (about 1 ms of 5 here).
swift build -c release --static-swift-stdlib --product gaia -Xlinker -no-pie 2>&1 | tail -1
echo "== machine: $(nproc) cores, $(uname -m)"
python3 bench/analyze_compare.py .build/release/gaia "$file" "$runs"
