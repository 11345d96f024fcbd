#!/usr/bin/env bash
# Simulated invocations per second of wall time, release build, one core per policy run.
#   bench/simulate.sh [FUNCTIONS] [RATE_PER_FUNCTION] [SECONDS] [POLICIES]   (default 500 10 240 gaia,static-cpu,knative)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product simulate-bench >/dev/null
.build/release/simulate-bench "$@"
