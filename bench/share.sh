#!/usr/bin/env bash
# GPU sharing's quota scheduler and adaptive batching, live on CPU.
# Usage: bench/share.sh [SECONDS]   (default 20 per run)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product share-bench 2>&1 | tail -1
.build/release/share-bench "${1:-20}"
