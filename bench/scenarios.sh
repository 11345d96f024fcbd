#!/usr/bin/env bash
# Gaia's controller judged on a suite of simulated scenarios (bench/scenarios.py says what it counts).
# Usage: bench/scenarios.sh [--suite main|held-out] [--only TEXT] [--verbose]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product gaia 2>&1 | tail -1
python3 bench/scenarios.py --gaia .build/release/gaia "$@"
