"""Small helpers shared by the test tiers."""

from __future__ import annotations

import contextlib
import functools
import importlib
import shlex
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import yaml

T = TypeVar("T")

#: The repository's root (pyproject.toml, manifests/, notebooks/).
ROOT = Path(__file__).resolve().parents[1]


def benchmark(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` as a module, as ``python benchmarks/<name>.py`` imports it.

    The scripts import each other by their plain names (``import report``), so their folder
    goes on the path; the module is registered first, for its dataclasses.
    """
    folder = str(ROOT / "benchmarks")
    if folder not in sys.path:
        sys.path.append(folder)
    return importlib.import_module(name)


def notebooks_in(folder: Path) -> list[Path]:
    """The notebooks in ``folder``, without the hidden doubled copies that nbmake's items write
    beside them while they run (tests/nbmake_twice.py): the unit tier beside the lanes found one.
    """
    return sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))


NOTEBOOKS = notebooks_in(ROOT / "notebooks")
#: A server address where nothing listens: every request is refused at once.
NOWHERE = "https://127.0.0.1:1"
#: The label on nodes a test fixture creates, so that a later run can find what a killed one
#: left behind.
FIXTURE_LABEL_KEY, FIXTURE_LABEL = "vllm-tutorial/test-fixture", "true"


def eventually(
    probe: Callable[[], T | None], timeout: float = 30, what: str | Callable[[], str] = ""
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``timeout``.

    ``what`` may be a function: the failure then says how things stood when time ran out.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"not within {timeout}s: {what() if callable(what) else what}")


def write_kubeconfig(path: Path, server: str = NOWHERE, context: str = "real") -> Path:
    """A kubeconfig with one context ``context`` for ``server``, current, with a token user.

    The token keeps kubectl from prompting for a username on a terminal (it does that for
    a user without credentials).
    """
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": context,
                "clusters": [{"name": context, "cluster": {"server": server}}],
                "users": [{"name": context, "user": {"token": "not-a-real-token"}}],
                "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            }
        )
    )
    return path


#: What every overlay renders to: the blog's five objects and the pod's own ServiceAccount.
OVERLAY_KINDS = [
    "Deployment",
    "Namespace",
    "NetworkPolicy",
    "Service",
    "ServiceAccount",
    "ServiceMonitor",
]


class _Files(SimpleHTTPRequestHandler):
    """Serves a folder; the files in ``truncated`` announce their size but send half of it."""

    truncated: frozenset[str] = frozenset()

    def copyfile(self, source, outputfile) -> None:
        if self.path.lstrip("/") in self.truncated:
            data = source.read()
            outputfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        super().copyfile(source, outputfile)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve_files(root: Path, truncated: frozenset[str] = frozenset()) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 for ``root``'s files; yields its base URL."""
    handler = type("Files", (_Files,), {"truncated": truncated})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=root))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


#: ``nvidia-smi --query-gpu=index,name,driver_version,memory.total,compute_cap`` on the lent
#: GPU machine (docs/benchmarks.md), as ``tutorial_lib.local.gpus`` asks for it.
H100 = "0, NVIDIA H100 80GB HBM3, 580.159.04, 81559, 9.0"


def fake_nvidia_smi(folder: Path, answer: str, code: int = 0) -> Path:
    """An ``nvidia-smi`` in ``folder`` that prints ``answer`` as the real one prints its query,
    and without arguments a header with the CUDA version, as the lent machine's did."""
    smi = folder / "nvidia-smi"
    lines = " ".join(shlex.quote(line) for line in answer.splitlines())
    header = "| NVIDIA-SMI 580.159.04   Driver Version: 580.159.04   CUDA Version: 13.0     |"
    smi.write_text(
        f'#!/bin/sh\n[ "$#" = 0 ] && [ {code} = 0 ] && {{ echo {shlex.quote(header)}; exit 0; }}\n'
        f"printf '%s\\n' {lines}\nexit {code}\n"
    )
    smi.chmod(0o755)
    return smi


def write_wheel(folder: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """A pure-Python wheel of ``name`` at ``version`` holding ``files``, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for member, text in files.items():
            wheel.writestr(member, text)
        info = f"{stem}.dist-info"
        wheel.writestr(f"{info}/METADATA", metadata(name, version))
        wheel.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        wheel.writestr(f"{info}/RECORD", "")
    return path


def metadata(name: str, version: str) -> str:
    """A distribution's METADATA: what ``importlib.metadata`` reads of an installed package."""
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"


#: The figures vLLM 0.26 states in a start on a GPU that serves (the V1 runner adds its
#: estimate): the parser must read each of them, but ``PASSED_ONLY`` where left at defaults.
GPU_STARTUP_FIGURES = [
    "weights_gib",
    "model_load_seconds",
    "cuda_graph_gib",
    "cuda_graph_seconds",
    "activation_peak_gib",
    "non_torch_gib",
    "kv_cache_gib",
    "kv_cache_tokens",
    "max_concurrency",
    "max_concurrency_tokens",
    "total_gpu_memory_gib",
    "gpu_memory_utilization",
    "max_model_len",
    "max_num_seqs",
    "max_num_batched_tokens",
]
#: Stated only in the non-default args: the blog's Deployment leaves vLLM's defaults.
PASSED_ONLY = {"max_num_seqs", "max_num_batched_tokens"}
