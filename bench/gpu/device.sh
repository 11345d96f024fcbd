#!/usr/bin/env bash
# The whole GPU check in one call on the device machine (no Swift there): run bench/gpu/pack.sh
# here first, then, through the device tool with carry [".carry"]:
#
#   bash bench/gpu/device.sh
#
# It prints the GPU and `gaia devices` (NVML discovery on real hardware), then runs
# bench/gpu/run.sh for WORKLOADS (default all four) and PHASES (default all) with results in
# $OUT/gpu (the device tool brings $OUT back). The full experiment takes longer than one call
# allows: split it with WORKLOADS=matmul-torch PHASES=static-gpu,auto and the like, or QUICK=1.
# SHARE=nomps or SHARE=mps runs bench/gpu/share.sh instead (GPU sharing; one call each).
set -euo pipefail
cd "$(dirname "$0")/../.."
carry=${CARRY:-.carry}
out=${OUT:-/tmp/gaia-gpu}
mkdir -p "$out/gpu"
export LD_LIBRARY_PATH="$PWD/$carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The binary travels gzipped; its resource bundles must sit beside it.
bin=$(mktemp -d)
cp -r "$carry"/*.resources "$bin/"
gunzip -c "$carry/gaia.gz" > "$bin/gaia"
chmod +x "$bin/gaia"
{ nvidia-smi --query-gpu=name,uuid,memory.total,driver_version --format=csv || echo "nvidia-smi: not available"; } | tee "$out/gpu/nvidia-smi.txt"
"$bin/gaia" devices | tee "$out/gpu/devices.txt"
if [ -n "${SHARE:-}" ]; then
    # SHARE=nomps or SHARE=mps: ResNet-18 instances sharing the GPU instead of the rung experiment.
    share_args=(--out "$out/gpu/share" --seconds "${SECONDS_PER_ROW:-30}")
    [ "$SHARE" = mps ] && share_args+=(--mps)
    GAIA_BIN="$bin/gaia" bench/gpu/share.sh "${share_args[@]}"
    exit 0
fi
args=(--out "$out/gpu/run" --workloads "${WORKLOADS:-matmul-torch,resnet18,tinyllama,idle}")
[ -n "${PHASES:-}" ] && args+=(--phases "$PHASES")
[ -n "${QUICK:-}" ] && args+=(--quick)
GAIA_BIN="$bin/gaia" THESIS="$carry/thesis" bench/gpu/run.sh "${args[@]}"
