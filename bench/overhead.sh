#!/usr/bin/env bash
# Gateway overhead: warm echo through Gaia's HTTP API vs the runtime directly, release build.
# Usage: bench/overhead.sh [REQUESTS] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product overhead-bench 2>&1 | tail -1
.build/release/overhead-bench "${1:-2000}" "${2:-16}"
