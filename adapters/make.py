"""Make one of the tutorial's LoRA adapters again: ``make adapter`` (adapters/README.md).

Trains ``train.py`` under the vLLM runtime's Python, whose torch and transformers serve the
stand-in model, with PEFT added beside it in the tool cache (not into the runtime, which
``make prepare`` checks against its pins). Run with the notebook venv's Python.

    python adapters/make.py NAME      NAME: a lessons file adapters/NAME.jsonl
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tutorial_lib.local import runtime
from tutorial_lib.tools import cache

#: PEFT, Hugging Face's library for LoRA and other adapters; pinned, its own dependencies
#: are the runtime's (torch, transformers, accelerate, safetensors).
PEFT = "peft==0.21.2"
HERE = Path(__file__).resolve().parent


def peft_dir(python: Path) -> Path:
    """PEFT installed for the runtime's Python, once."""
    target = cache.cache_dir() / "peft" / PEFT.replace("==", "-")
    if not (target / "peft").is_dir():
        uv = Path(sys.executable).parent / "uv"
        install = [str(uv), "pip", "install", "--python", str(python), "--target", str(target)]
        subprocess.run([*install, "--no-deps", "--quiet", PEFT], check=True)
    return target


def main() -> None:
    name = sys.argv[1]
    serving = runtime.ensure_runtime(build=runtime.Build.CPU)
    python = serving.venv / "bin" / "python"
    env = os.environ | {"PYTHONPATH": str(peft_dir(python)), "HF_HUB_OFFLINE": "1"}
    script = [str(python), str(HERE / "train.py"), str(serving.model_snapshot), runtime.MODEL_ID]
    subprocess.run([*script, str(HERE / f"{name}.jsonl"), str(HERE / name)], check=True, env=env)


if __name__ == "__main__":
    main()
