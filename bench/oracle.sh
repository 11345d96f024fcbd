#!/usr/bin/env bash
# Gaia against the best static configuration in hindsight on steady load (bench/oracle.py says how).
# Usage: bench/oracle.sh [--shares] [--only TEXT]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product gaia 2>&1 | tail -1
python3 bench/oracle.py --gaia .build/release/gaia "$@"
