"""Can ``make demo`` succeed on this machine, and if not, what to do about it.

``python -m tutorial_lib.local doctor`` checks what a first run needs before it spends
minutes finding out: the platform, Python, CPU features, memory, disk for what is not cached
yet, the download sources that the missing parts come from, Go where a build is the only way,
and the port the local Prometheus takes. Each problem is one line with its fix; the exit
status is 1 when ``make demo`` cannot succeed. An NVIDIA GPU is reported, never required:
where vLLM's CUDA build can use it, the local cluster's GPU node runs on it (``gpus``);
otherwise the CPU stand-in serves the model.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tutorial_lib.local import (
    binaries,
    blog_model,
    gpus,
    monitoring,
    ports,
    prometheus_ui,
    runtime,
)
from tutorial_lib.tools import binaries as tool_binaries
from tutorial_lib.tools import cache, downloads

GIB = 1024**3
#: What a first run writes (benchmarks/disk.py, docs/benchmarks.md "Disk after a first run").
RUNTIME_BYTES = 6 * GIB  # the runtime venv with PyPI's torch, the stand-in model, its wheel
#: The CUDA build's venv with torch and its CUDA libraries from PyPI: 7.65 GiB measured
#: (benchmarks/disk.py, docs/benchmarks.md), with the stand-in as above.
CUDA_RUNTIME_BYTES = 8.2 * GIB
#: The blog's model where a GPU will download it: its weights are 3.98 GiB (the H100 run).
BLOG_MODEL_BYTES = 4.1 * GIB
BINARIES_BYTES = 1.1 * GIB  # the cluster binaries, the tools, checkov's venv, build folders
GO_BUILD_BYTES = 7.2 * GIB  # Go's module and build caches, when the binaries are built
#: The control plane, Prometheus and one vLLM pod with the stand-in model, with headroom.
MEMORY_BYTES = 4 * GIB
SUPPORTED_PYTHON = ((3, 11), (3, 14))
_PROBE_TIMEOUT = 4


@dataclass(frozen=True)
class Finding:
    """One check's verdict; ``fix`` is set exactly when something is wrong."""

    check: str
    detail: str
    fix: str = ""
    blocking: bool = True

    @property
    def ok(self) -> bool:
        return not self.fix

    def line(self) -> str:
        mark = "ok " if self.ok else ("ERR" if self.blocking else "warn")
        text = f"{mark:<4} {self.check:<12} {self.detail}"
        label = "fix:" if self.blocking else "note:"
        return text + (f"\n     {'':<12} {label} {self.fix}" if self.fix else "")


def _platform() -> Finding:
    system, machine = platform.system(), platform.machine().lower()
    detail = f"{system} {machine}"
    if system != "Linux":
        return Finding(
            "platform",
            detail,
            "vLLM's CPU build and the control plane here are Linux programs: run the tutorial "
            "in a Linux VM (README: Platforms).",
        )
    if machine not in ("x86_64", "amd64"):
        return Finding(
            "platform",
            detail,
            "The vLLM runtime's pins are x86_64 wheels (README: Platforms); use an x86_64 "
            "Linux machine or VM.",
        )
    return Finding("platform", detail)


def _python() -> Finding:
    version = sys.version_info[:2]
    detail = f"Python {platform.python_version()} ({sys.executable})"
    low, high = SUPPORTED_PYTHON
    if not low <= version <= high:
        return Finding("python", detail, "Use CPython 3.11 to 3.14: make demo PYTHON=python3.13")
    return Finding("python", detail)


def _cpu(cpuinfo: Path = Path("/proc/cpuinfo")) -> Finding:
    try:
        flags = next(
            line.split(":", 1)[1].split()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("flags")
        )
    except (OSError, StopIteration):
        return Finding("cpu", "no x86 CPU flags found (/proc/cpuinfo)", blocking=False)
    detail = f"{os.cpu_count()} cores, AVX2 {'yes' if 'avx2' in flags else 'no'}, " + (
        f"AVX-512 {'yes' if 'avx512f' in flags else 'no'}"
    )
    if "avx2" not in flags:
        return Finding("cpu", detail, "vLLM's CPU build needs AVX2 (x86_64 from about 2013 on).")
    return Finding("cpu", detail)


def _memory(meminfo: Path = Path("/proc/meminfo")) -> Finding:
    try:
        fields = dict(line.split(":", 1) for line in meminfo.read_text().splitlines())
        available = int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return Finding("memory", "unknown (no /proc/meminfo)", blocking=False)
    detail = f"{available / GIB:.1f} GiB available"
    if available < MEMORY_BYTES:
        return Finding(
            "memory",
            detail,
            f"The cluster and one vLLM pod need about {MEMORY_BYTES / GIB:.0f} GiB: close "
            "other programs.",
        )
    return Finding("memory", detail)


@dataclass(frozen=True)
class Missing:
    """What a first run still has to obtain."""

    binaries: tuple[str, ...]  # of binaries.FIRST_RUN
    runtime: bool

    @classmethod
    def here(cls) -> Missing:
        names = tuple(b.name for b in binaries.FIRST_RUN if not b.path.exists())
        return cls(names, runtime.installed() is None)

    @property
    def nothing(self) -> bool:
        return not self.binaries and not self.runtime


def _reachable(url: str) -> str | None:
    """None when ``url``'s host answers at all (any HTTP status), else why not."""
    try:
        with urllib.request.urlopen(url, timeout=_PROBE_TIMEOUT):
            return None
    except urllib.error.HTTPError:
        return None
    except (urllib.error.URLError, OSError) as exc:
        return str(getattr(exc, "reason", None) or exc)


def _sources(missing: Missing) -> tuple[list[Finding], bool]:
    """One finding per download source a missing part needs; and whether releases answer."""
    findings = []
    releases = True
    if missing.binaries and not tool_binaries.offline():
        for host in downloads.HOSTS:
            url = downloads.mirrored(f"https://{host}/")
            why = _reachable(url)
            releases = releases and why is None
            fix = f"unreachable ({why}): binaries will be built with Go instead" if why else ""
            findings.append(Finding("download", url, fix, blocking=False))
    if missing.runtime:
        index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple/")
        why = _reachable(index)
        build = runtime.Build.here().value.upper()
        fix = f"pip needs a package index for vLLM's {build} build ({why}); set PIP_INDEX_URL"
        findings.append(Finding("download", index, fix if why else ""))
    return findings, releases


def _go(missing: Missing, releases: bool) -> Finding | None:
    """Go, when a missing binary must be built: any without a reachable release download.

    Karpenter's kwok provider has no release binary, so a first run always builds it.
    """
    downloadable = releases and not tool_binaries.offline()
    to_build = [
        b.name
        for b in binaries.FIRST_RUN
        if b.name in missing.binaries and not (downloadable and b.release)
    ]
    if not to_build:
        return None
    go = shutil.which("go")
    if not downloadable:
        reason = "offline" if tool_binaries.offline() else "the release hosts are unreachable"
    else:
        reason = "no release binary: " + ", ".join(to_build)
    if go is None:
        return Finding(
            "go",
            f"needed ({reason}) to build {len(to_build)} binaries, not on PATH",
            "Install Go 1.26 or newer (https://go.dev/dl/ or your package manager's golang); "
            "Karpenter's build fetches the Go 1.26.9 toolchain it needs from the module proxy.",
        )
    version = subprocess.run(
        [go, "env", "GOVERSION"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    return Finding("go", f"{version} ({go}) builds {len(to_build)} binaries ({reason})")


def _disk(missing: Missing, build: bool) -> Finding:
    folder = cache.cache_dir()
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    cuda = runtime.Build.here() is runtime.Build.CUDA
    need = ((CUDA_RUNTIME_BYTES if cuda else RUNTIME_BYTES) if missing.runtime else 0) + (
        (BINARIES_BYTES + (GO_BUILD_BYTES if build else 0)) if missing.binaries else 0
    )
    need += BLOG_MODEL_BYTES if cuda and blog_model.to_download() else 0
    detail = f"{free / GIB:.1f} GiB free at {existing}, {need / GIB:.1f} GiB needed"
    if free < need:
        return Finding(
            "disk",
            detail,
            f"Free {(need - free) / GIB:.1f} GiB there, or point VLLM_TUTORIAL_CACHE at a "
            "larger disk.",
        )
    return Finding("disk", detail)


def _port() -> Finding:
    """The cluster's fixed ports (``ports.py``) are free, or the running cluster's own."""
    fixed = ports.fixed()
    listed = ", ".join(map(str, fixed))
    if monitoring.ready():
        return Finding("port", f"{listed}: the running local cluster's")
    for port, user in fixed.items():
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return Finding(
                    "port",
                    f"{port} is taken by another program",
                    f"{user.capitalize()} needs it: find the program with `ss -ltnp 'sport = "
                    f":{port}'` and stop it, or move every port of the cluster with "
                    f"{ports.OFFSET_ENV}.",
                )
    return Finding("port", f"{listed} free (the control plane, Prometheus, Karpenter)")


def _gpu() -> Finding:
    """Reported, never required: without a usable GPU the CPU stand-in serves the model."""
    try:
        found = gpus.detect()
    except gpus.NoAnswer as exc:
        return Finding(
            "gpu",
            f"nvidia-smi does not answer ({exc})",
            "Install or load the NVIDIA driver to use the GPU; the CPU stand-in needs none.",
            blocking=False,
        )
    if not found:
        return Finding("gpu", "no NVIDIA GPU (no nvidia-smi): the CPU stand-in serves the model")
    first = found[0]
    detail = (
        f"{len(found)} x {first.name}, driver {first.driver} (CUDA {gpus.cuda_version() or '?'}), "
        f"{first.memory_mib} MiB, compute capability {'.'.join(map(str, first.compute_capability))}"
    )
    if first.problem is not None:
        return Finding("gpu", detail, first.problem, blocking=False)
    if not gpus.backing():
        return Finding("gpu", f"{detail}; {gpus.SWITCH}=off: the CPU stand-in serves the model")
    return Finding(
        "gpu",
        f"{detail}; the GPU node runs vLLM {runtime.VLLM_VERSION}'s CUDA build on it, "
        f"serving {blog_model.plan()}",
    )


def _prometheus_ui() -> Finding:
    """Reported, never required: without it Prometheus' API, all the code uses, works."""
    binary = binaries.PROMETHEUS.path
    if prometheus_ui.built():
        return Finding("web UI", f"Prometheus' web UI is built ({prometheus_ui.static_dir()})")
    if binary.exists() and prometheus_ui.embedded(binary):
        return Finding("web UI", "Prometheus' web UI is in its release binary")
    why = prometheus_ui.node_problem()
    if why is not None:
        fix = (
            f"{why}. Needed only where Prometheus is built from its Go module (offline, or "
            "GitHub unreachable): without it the local Prometheus serves its API, not its UI."
        )
        return Finding("web UI", "Prometheus' web UI cannot be built here", fix, blocking=False)
    return Finding(
        "web UI", "Prometheus' web UI: in a release binary, or built with Node.js and pnpm"
    )


def _cache(missing: Missing) -> Finding:
    if missing.nothing:
        return Finding("cache", f"complete at {cache.cache_dir()}")
    parts = [f"{len(missing.binaries)} binaries"] if missing.binaries else []
    parts += ["the vLLM runtime and stand-in model"] if missing.runtime else []
    return Finding("cache", "to obtain on the first run: " + ", ".join(parts))


def examine(missing: Missing | None = None) -> list[Finding]:
    missing = missing or Missing.here()
    sources, releases = _sources(missing)
    go = _go(missing, releases)
    build = go is not None
    findings = [_platform(), _python(), _cpu(), _memory(), _gpu(), _disk(missing, build)]
    findings += [_port(), _prometheus_ui()]
    findings += [_cache(missing), *sources, *([go] if go else [])]
    return findings


def main(quiet: bool = False) -> int:
    """Print the findings (only the problems when ``quiet``); 1 if ``make demo`` cannot work."""
    findings = examine()
    blocking = [f for f in findings if not f.ok and f.blocking]
    for finding in findings:
        if not quiet or not finding.ok:
            print(finding.line())
    if blocking:
        print(f"doctor: {len(blocking)} problem(s) stop `make demo`; fix them and run it again.")
    elif not quiet:
        print("doctor: make demo can run here.")
    return 1 if blocking else 0
