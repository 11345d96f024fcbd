#!/usr/bin/env bash
# Cold start to first response, fresh process vs fork server, for echo, matmul and minilm.
# Usage: bench/coldstart.sh [RUNS]   (default 20 per example and way)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product coldstart-bench 2>&1 | tail -1
.build/release/coldstart-bench "${1:-20}"
