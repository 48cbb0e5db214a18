#!/usr/bin/env bash
# The GPU tier on a machine with an NVIDIA GPU and no network (the lent H100), from the parts
# `scripts/gpu_carry.py pack` made: unpack them, install vLLM's CUDA runtime from the carried
# wheels (the machine's own torch shared), run tests/gpu, keep the logs in OUT.
#   bash scripts/gpu_tier_offline.sh PARTS WORK OUT
set -euo pipefail
parts=$1 work=$2 out=$3
python3 scripts/gpu_carry.py unpack "$parts" "$work"
export PYTHONPATH="$work/site:$PWD" PATH="$work/site/bin:$PATH" PYTHONUNBUFFERED=1
export VLLM_TUTORIAL_CACHE="$work/cache" VLLM_TUTORIAL_OFFLINE=1 VLLM_TUTORIAL_GPU_RECORD="$out"
python3 -c "from pathlib import Path; from tutorial_lib.local import runtime
print(runtime.ensure_runtime(Path('$work/wheels')))"
status=0
# Inside the device tool's 10 minutes a call, so that the logs below still come back.
timeout "${TIER_SECONDS:-420}" python3 -m pytest tests/gpu -o addopts= -p no:cacheprovider \
  -rs -v --durations=10 || status=$?
state=${XDG_STATE_HOME:-$HOME/.local/state}/vllm-tutorial
cp "$state"/runtime-bridge.log "$state"/karpenter.log "$work"/cache/runtime/install.log "$out"/ || true
tail -n 80 "$state"/pods/*/logs/*.log > "$out"/pod-logs.txt 2>/dev/null || true
python3 -m tutorial_lib.local down || true
exit "$status"
