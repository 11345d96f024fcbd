#!/usr/bin/env bash
# The Gaia paper's experiment on this machine, as one command: starts the release `gaia serve`
# and, for each workload (matmul-torch, resnet18, tinyllama, idle), runs static CPU (all cores),
# static GPU and Gaia automatic (the analyzer's mode, SLO p95 = 1,000 ms) with the same request
# sequence; writes results.json, results.md, requests.csv and matmul.svg (bench/gpu/drive.py).
#
#   bench/gpu/run.sh [--quick] [--workloads matmul-torch,idle] [--phases static-cpu,auto] [--out DIR] [--stand-in]
#
# --quick       short sequences (a dry run in a few minutes)
# --stand-in    no GPU here: a CPU stand-in plays gpu0 (its instances run on the CPU); only to try
#               the script, never for figures
# Environment: GAIA_BIN (default .build/release/gaia), PYTHON (the workers' interpreter, with torch,
# torchvision and transformers; default python3), PORT (default 8090), THESIS (the prototype's raw
# runs, default ../shared/data/gaia-thesis), LLM_TOKENS (tokens per TinyLlama request, default 16).
set -euo pipefail
cd "$(dirname "$0")/../.."

GAIA=${GAIA_BIN:-.build/release/gaia}
PYTHON=${PYTHON:-python3}
PORT=${PORT:-8090}
THESIS=${THESIS:-../shared/data/gaia-thesis}
out="bench/gpu/results-$(date +%Y%m%d-%H%M%S)"
extra=()
serve_extra=()
phases=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) extra+=(--quick) ;;
        --stand-in) serve_extra+=(--gpu-stand-ins 1) ;;
        --workloads) extra+=("$1" "$2"); shift ;;
        --phases) phases=$2; shift ;;
        --out) out=$2; shift ;;
        -h|--help) sed -n 2,17p "$0"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[ -x "$GAIA" ] || { echo "no gaia binary at $GAIA: run swift build -c release, or set GAIA_BIN" >&2; exit 1; }
"$PYTHON" -c "import torch, torchvision, transformers" 2>/dev/null \
    || echo "warning: $PYTHON lacks torch, torchvision or transformers: those workloads will fail to deploy (set PYTHON)" >&2
mkdir -p "$out"
"$GAIA" devices -o json > "$out/devices.json"
cores=$("$PYTHON" -c "import json,sys; print(len(json.load(open(sys.argv[1]))['cpus']))" "$out/devices.json")
device=$("$PYTHON" -c "import json,sys; g=json.load(open(sys.argv[1]))['gpus']; print(g[0]['name'] if g else 'no GPU')" "$out/devices.json")
if [ ${#serve_extra[@]} -gt 0 ]; then device="CPU stand-in for gpu0 ($cores cores; not a GPU)"; fi
if [ "$device" = "no GPU" ]; then
    echo "no GPU on this machine: only static-cpu and auto run (use --stand-in to try the GPU path on the CPU)" >&2
    phases=${phases:-static-cpu,auto,auto-cpu-start}
fi
[ -n "$phases" ] && extra+=(--phases "$phases")

data=$(mktemp -d)
cat > "$data/gaia.yaml" <<YAML
# The examples need more than the default 4,096 MB address space per CPU instance (matmul at
# n = 20,000, TinyLlama in float32); GPU instances have no such cap.
memory_limit_mb: 0
pool:
  start_timeout_seconds: 300
  invocation_timeout_seconds: 600
YAML
"$GAIA" serve --no-auth --port "$PORT" --data-dir "$data" --python "$PYTHON" --config "$data/gaia.yaml" "${serve_extra[@]}" \
    > "$out/server.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
    "$PYTHON" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/healthz', timeout=1)" 2>/dev/null && break
    kill -0 $server 2>/dev/null || { cat "$out/server.log" >&2; exit 1; }
    sleep 0.3
done
echo "gaia serve up on :$PORT ($device, $cores cores); results in $out" >&2
"$PYTHON" bench/gpu/drive.py --url "http://127.0.0.1:$PORT" --examples examples --out "$out" --cpu-rung "cpu-$cores" \
    --device "$device" --thesis "$THESIS" --llm-tokens "${LLM_TOKENS:-16}" "${extra[@]}"
