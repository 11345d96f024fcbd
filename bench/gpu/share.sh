#!/usr/bin/env bash
# ResNet-18 instances sharing one GPU (1, 2, 4 at 1/N of it each) vs a whole GPU each (the Knative
# way): throughput, p95 and provider cost per 1,000 (bench/gpu/share_drive.py), without MPS (time
# quotas of the whole GPU) and, with --mps, with an MPS control daemon started for the run (SM
# shares) and quit afterwards. Writes share-nomps.md / share-mps.md under --out.
#
#   bench/gpu/share.sh [--mps] [--seconds 30] [--out DIR] [--stand-in]
#
# --stand-in   no GPU here: a CPU stand-in plays gpu0; only to try the script, never for figures
# Environment: GAIA_BIN (default .build/release/gaia), PYTHON (the workers' interpreter, with torch
# and torchvision; default python3), PORT (default 8091).
set -euo pipefail
cd "$(dirname "$0")/../.."
GAIA=${GAIA_BIN:-.build/release/gaia}
PYTHON=${PYTHON:-python3}
PORT=${PORT:-8091}
out="bench/gpu/share-$(date +%Y%m%d-%H%M%S)"
seconds=30
mps=""
serve_extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --mps) mps=1 ;;
        --seconds) seconds=$2; shift ;;
        --out) out=$2; shift ;;
        --stand-in) serve_extra+=(--gpu-stand-ins 1) ;;
        -h|--help) sed -n 2,11p "$0"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[ -x "$GAIA" ] || { echo "no gaia binary at $GAIA: run swift build -c release, or set GAIA_BIN" >&2; exit 1; }
mkdir -p "$out"
device=$("$GAIA" devices -o json | "$PYTHON" -c "import json,sys; g=json.load(sys.stdin)['gpus']; print(g[0]['name'] if g else 'no GPU')")
[ ${#serve_extra[@]} -gt 0 ] && device="CPU stand-in for gpu0 (not a GPU)"
if [ "$device" = "no GPU" ]; then echo "no GPU on this machine (use --stand-in to try the script)" >&2; exit 1; fi

data=$(mktemp -d)
server=""
cleanup() {
    [ -n "$server" ] && { kill -TERM "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; }
    # Quit the MPS daemon this script started (never one that was already running).
    [ -n "${started_mps:-}" ] && { echo quit | nvidia-cuda-mps-control || true; }
    rm -rf "$data"
}
trap cleanup EXIT
if [ -n "$mps" ]; then
    export CUDA_MPS_PIPE_DIRECTORY="$data/mps-pipe" CUDA_MPS_LOG_DIRECTORY="$data/mps-log"
    mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
    nvidia-cuda-mps-control -d
    started_mps=1
    for _ in $(seq 1 50); do [ -e "$CUDA_MPS_PIPE_DIRECTORY/control" ] && break; sleep 0.1; done
fi
"$GAIA" serve --no-auth --port "$PORT" --data-dir "$data/gaia" --python "$PYTHON" --gpu-sm-shares 25,50,100 --gpu-quotas 25,50,100 \
    "${serve_extra[@]}" > "$out/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
    "$PYTHON" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/healthz', timeout=1)" 2>/dev/null && break
    kill -0 $server 2>/dev/null || { cat "$out/server.log" >&2; exit 1; }
    sleep 0.3
done
"$GAIA" devices | tee "$out/devices.txt"
args=(--url "http://127.0.0.1:$PORT" --out "$out" --seconds "$seconds" --device "$device")
[ -n "$mps" ] && args+=(--mps)
"$PYTHON" bench/gpu/share_drive.py "${args[@]}"
mv "$out/share.md" "$out/share-$([ -n "$mps" ] && echo mps || echo nomps).md"
