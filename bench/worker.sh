#!/usr/bin/env bash
# Worker round trip (warm echo) and cold start to first response (echo, matmul), release build.
# Usage: bench/worker.sh [INVOCATIONS] [COLD_STARTS]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product worker-bench 2>&1 | tail -1
.build/release/worker-bench "${1:-2000}" "${2:-10}"
