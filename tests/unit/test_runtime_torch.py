"""Which torch the vLLM runtime gets: PyTorch's CPU-only index where it answers, else PyPI.

The CPU index here is a local server with the simple-index layout (a folder per project,
listing its wheels) holding a small wheel named like PyTorch's CPU build; pip installs it
for real into a fresh venv.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import NOWHERE, serve_files, write_wheel
from tutorial_lib.local import runtime

CPU_VERSION = f"{runtime.TORCH_VERSION}+cpu"


def cpu_wheel(folder: Path) -> None:
    """A wheel of ``torch`` at the CPU build's version: its module only states the version."""
    write_wheel(
        folder, "torch", CPU_VERSION, {"torch/__init__.py": f'__version__ = "{CPU_VERSION}"\n'}
    )


@pytest.fixture
def online(monkeypatch) -> None:
    """Downloads allowed (the unit tier's conftest sets VLLM_TUTORIAL_OFFLINE)."""
    monkeypatch.delenv("VLLM_TUTORIAL_OFFLINE")


def test_a_reachable_cpu_index_gives_the_cpu_build(online, tmp_path, monkeypatch):
    cpu_wheel(tmp_path / "index" / "torch")
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
    python = tmp_path / "venv" / "bin" / "python"
    with serve_files(tmp_path / "index") as index:
        monkeypatch.setenv(runtime.TORCH_INDEX_VARIABLE, index)
        installed = runtime.install_torch(python)
    assert installed == f"torch=={CPU_VERSION} from {index}"
    version = subprocess.run(
        [python, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True
    )
    assert version.stdout.strip() == CPU_VERSION


def test_an_unreachable_cpu_index_leaves_pypi(online, monkeypatch):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        monkeypatch.setenv(
            runtime.TORCH_INDEX_VARIABLE, f"http://127.0.0.1:{closed.getsockname()[1]}"
        )
        assert runtime.torch_cpu_index() is None


def test_offline_never_asks_the_cpu_index(tmp_path, monkeypatch):
    cpu_wheel(tmp_path / "index" / "torch")
    with serve_files(tmp_path / "index") as index:
        monkeypatch.setenv(runtime.TORCH_INDEX_VARIABLE, index)
        assert runtime.torch_cpu_index() is None


def test_a_wheelhouse_with_the_cpu_build_installs_it_with_no_index(tmp_path, monkeypatch):
    """A workshop bundle's wheels: pip asks no index at all, not even the CPU one."""
    cpu_wheel(tmp_path / "wheels")
    monkeypatch.setenv(runtime.TORCH_INDEX_VARIABLE, NOWHERE)
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
    python = tmp_path / "venv" / "bin" / "python"
    installed = runtime.install_torch(python, wheelhouse=tmp_path / "wheels")
    assert installed == f"torch=={CPU_VERSION} from {tmp_path / 'wheels'}"
    version = subprocess.run(
        [python, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True
    )
    assert version.stdout.strip() == CPU_VERSION
