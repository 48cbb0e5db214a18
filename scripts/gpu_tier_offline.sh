#!/usr/bin/env bash
# The GPU tier on a machine with an NVIDIA GPU and no network (the lent H100), from the parts
# `scripts/gpu_carry.py pack` made: unpack them (once per WORK), install vLLM's CUDA runtime
# from the carried wheels (the machine's own torch shared), run tests/gpu, keep the logs in OUT.
#   bash scripts/gpu_tier_offline.sh PARTS WORK OUT
# BLOG_LAYOUT=1: with the blog's model in the cache, as `prepare` downloads it where the Hub
# answers; here a checkpoint of its exact layout with random weights (benchmarks/gpu_memory.py;
# the machine cannot download), so the tier serves the blog's manifests unchanged (eks-l4).
set -euo pipefail
parts=$1 work=$2 out=$3
[ -d "$work/cache" ] || python3 scripts/gpu_carry.py unpack "$parts" "$work"
export PYTHONPATH="$work/site:$PWD" PATH="$work/site/bin:$PATH" PYTHONUNBUFFERED=1
export VLLM_TUTORIAL_CACHE="$work/cache" VLLM_TUTORIAL_OFFLINE=1 VLLM_TUTORIAL_GPU_RECORD="$out"
python3 -c "from pathlib import Path; from tutorial_lib.local import runtime
print(runtime.ensure_runtime(Path('$work/wheels')))"
suffix=""
if [ "${BLOG_LAYOUT:-0}" = 1 ]; then
  suffix="-blog"
  python3 - "$work/cache/huggingface" <<'PY'
import sys
from pathlib import Path

sys.path.insert(0, "benchmarks")
from gpu_memory import write_checkpoint
from tutorial_lib.local import blog_model

repo = blog_model.repo(Path(sys.argv[1]))
commit = "0" * 40  # no commit of the Hub's: random weights, the model's exact layout
write_checkpoint(repo / "snapshots" / commit)
(repo / "refs").mkdir(exist_ok=True)
(repo / "refs" / "main").write_text(commit)
print("the blog's model (its layout):", blog_model.cached(Path(sys.argv[1])))
PY
fi
state=${XDG_STATE_HOME:-$HOME/.local/state}/vllm-tutorial
status=0
# Inside the device tool's 10 minutes a call, so that the logs below still come back.
timeout "${TIER_SECONDS:-420}" python3 -m pytest tests/gpu -o addopts= -p no:cacheprovider \
  -rs -v --durations=10 || status=$?
cp "$state"/runtime-bridge.log "$out/runtime-bridge$suffix.log" || true
cp "$work"/cache/runtime/install.log "$out"/ || true
tail -n 80 "$state"/pods/*/logs/*.log > "$out/pod-logs$suffix.txt" 2>/dev/null || true
python3 -m tutorial_lib.local down || true
exit "$status"
