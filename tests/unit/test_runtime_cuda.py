"""The CUDA build's venv shares a machine's own torch and installs only what the machine lacks.

The machine's packages here are a folder of ``dist-info`` metadata (torch 2.11.0 and every
pinned package but three, as on the lent GPU machine); two of the missing ones are small
wheels in a wheelhouse, installed for real with no index, the third is in neither.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import metadata, write_wheel
from tutorial_lib.errors import LocalClusterError
from tutorial_lib.local import runtime

MISSING = {"vllm": runtime.VLLM_VERSION, "gguf": "0.19.0"}
#: Lacking on the machine and in the wheelhouse too: left out, and named.
NOWHERE = "flashinfer-python==0.6.14"
#: On the machine at another version than pinned: shared, and named.
OTHER = "transformers==5.17.0"


def machine_site(folder: Path, torch_version: str, others: list[str]) -> Path:
    """An installed ``torch`` of ``torch_version`` and the ``name==version`` pins ``others``."""
    (folder / "torch").mkdir(parents=True)
    (folder / "torch" / "__init__.py").write_text(f'__version__ = "{torch_version}"\n')
    for pin in [f"torch=={torch_version}", *others]:
        name, version = pin.split("==")
        info = folder / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(metadata(name, version))
    return folder


def test_the_venv_shares_the_machines_torch_and_installs_only_what_it_lacks(tmp_path, monkeypatch):
    pinned = runtime.pins(runtime.CUDA_REQUIREMENTS)
    assert {f"{name}=={version}" for name, version in MISSING.items()} <= set(pinned)
    skip = {*MISSING, "torch", NOWHERE.split("==")[0]}
    others = [pin for pin in pinned if pin.split("==")[0] not in skip]
    others = [OTHER if pin.startswith("transformers==") else pin for pin in others]
    site = machine_site(tmp_path / "machine", runtime.TORCH_VERSION, others)
    monkeypatch.syspath_prepend(str(site))  # this Python holds them, as the machine's does
    wheels = tmp_path / "wheels"
    for name, version in MISSING.items():
        write_wheel(wheels, name, version, {f"{name}/__init__.py": f'__version__ = "{version}"\n'})

    venv = runtime.ensure_cuda_venv(wheels)

    assert runtime.machine_torch() == site
    marker = (venv / ".complete").read_text()
    assert f"left out: {NOWHERE};" in marker
    assert "shared at another version: transformers 5.17.0" in marker
    installed = runtime.Runtime(venv, tmp_path, runtime.Build.CUDA)
    assert {"torch", "vllm", "gguf"} <= installed.packages
    assert "flashinfer-python" not in installed.packages
    assert (venv / "requirements.txt").read_text().split() == sorted(
        f"{name}=={version}" for name, version in MISSING.items()
    )
    python = venv / "bin" / "python"
    seen = subprocess.run(
        [python, "-c", "import torch, vllm; print(torch.__version__, vllm.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert seen[0] == runtime.TORCH_VERSION, "torch is the machine's"
    assert seen[1].startswith(str(venv)), "vLLM is the venv's own"
    assert runtime.ensure_cuda_venv(wheels) == venv  # instant the second time
    site.rename(tmp_path / "machine-upgraded")  # the machine's torch moved away
    with pytest.raises(LocalClusterError, match="cannot run without torch"):
        runtime.ensure_cuda_venv(wheels)  # no longer complete: made again, and now refused


@pytest.mark.parametrize(
    ("version", "shared"),
    [
        (f"{runtime.TORCH_VERSION}+cu130", True),  # PyTorch's own cu130 index
        (f"{runtime.TORCH_VERSION}+cpu", False),
        (f"{runtime.TORCH_VERSION}+cu126", False),  # another CUDA than vLLM's wheel
        (f"{runtime.TORCH_VERSION}+rocm6.4", False),
        ("2.10.0", False),
    ],
)
def test_only_the_torch_vllms_cuda_wheel_runs_on_is_shared(tmp_path, monkeypatch, version, shared):
    site = machine_site(tmp_path / "machine", version, [])
    monkeypatch.syspath_prepend(str(site))
    assert runtime.machine_torch() == (site if shared else None)


def test_a_wheelhouse_without_torch_on_a_machine_without_it_is_refused(tmp_path):
    """No venv that is 'complete' but cannot import torch: the refusal says what to add."""
    wheels = tmp_path / "wheels"
    write_wheel(wheels, "vllm", runtime.VLLM_VERSION, {"vllm/__init__.py": ""})
    with pytest.raises(LocalClusterError, match=r"cannot run without torch==2\.11\.0"):
        runtime.ensure_cuda_venv(wheels)
    assert not runtime.venv_dir(runtime.Build.CUDA).exists()
