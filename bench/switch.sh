#!/usr/bin/env bash
# Rung switching under a load step (matmul n=2048): Gaia's mode controller vs static cpu-1 / cpu-2.
# Usage: bench/switch.sh [PHASE_SECONDS]   (default 20: the trace takes 4 x 20 s per run, 3 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product switch-bench 2>&1 | tail -1
.build/release/switch-bench "${1:-20}"
