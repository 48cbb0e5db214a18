"""The local cluster's own binaries: the control plane, kwok, Prometheus, Karpenter, versitygw.

Obtained like the reader's tools (``tutorial_lib.tools.binaries``): cache, verified
release download (``tutorial_lib.tools.downloads``), else a build from the Go module proxy.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from tutorial_lib.errors import LocalClusterError
from tutorial_lib.local import patches, versions
from tutorial_lib.tools import binaries, downloads, gopatch
from tutorial_lib.tools.binaries import Binary

KUBERNETES_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


def _kubernetes_module_dir() -> Path:
    """A wrapper module that pins k8s.io/kubernetes and its staging modules.

    ``k8s.io/kubernetes`` cannot be ``go install``-ed: its go.mod requires the staging
    modules at ``v0.0.0`` and replaces them with local folders. The wrapper requires the
    release and replaces each of those with its published ``v0.<minor>.<patch>``. Made once
    for the three commands built from it, which ``prepare`` may build at the same time.
    """
    with _KUBERNETES_MODULE:
        return _make_kubernetes_module_dir()


_KUBERNETES_MODULE = threading.Lock()


def _make_kubernetes_module_dir() -> Path:
    module = binaries.build_dir(f"kubernetes-{versions.KUBERNETES}")
    if (module / "go.sum").exists():
        return module
    module.mkdir(parents=True, exist_ok=True)
    log = binaries.build_log("kubernetes-module")
    info = subprocess.run(
        [binaries.go(), "mod", "download", "-json", f"k8s.io/kubernetes@{versions.KUBERNETES}"],
        env=binaries.go_env(),
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
    binaries.go_run(["mod", "tidy"], cwd=module, desc="Resolving Kubernetes modules", log=log)
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
        binaries.go_run(
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
            log=binaries.build_log(name),
        )

    return build


def _build_etcd(dest: Path) -> None:
    module = binaries.build_dir(f"etcd-{versions.ETCD}")
    module.mkdir(parents=True, exist_ok=True)
    (module / "go.mod").write_text(
        f"module local/etcd-build\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 {versions.ETCD}\n"
    )
    # etcd's own main is in a module that is not published; etcdmain is the same entry point.
    (module / "main.go").write_text(
        'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\n'
        "func main() { etcdmain.Main(os.Args) }\n"
    )
    log = binaries.build_log("etcd")
    binaries.go_run(["mod", "tidy"], cwd=module, desc="Resolving etcd modules", log=log)
    binaries.go_run(
        ["build", "-trimpath", "-ldflags", "-s -w", "-o", str(dest), "."],
        cwd=module,
        desc=f"Building etcd {versions.ETCD}",
        log=log,
    )


def _kubernetes_release(name: str) -> Callable[[str], downloads.Release]:
    def release(arch: str) -> downloads.Release:
        return downloads.RawFile(
            f"https://dl.k8s.io/release/{versions.KUBERNETES}/bin/linux/{arch}/{name}"
        )

    return release


def _etcd_release(arch: str) -> downloads.Release:
    base = f"https://github.com/etcd-io/etcd/releases/download/{versions.ETCD}"
    folder = f"etcd-{versions.ETCD}-linux-{arch}"
    return downloads.ArchiveMember(
        f"{base}/{folder}.tar.gz", f"{base}/SHA256SUMS", f"{folder}/etcd"
    )


def _kwok_release(name: str) -> Callable[[str], downloads.Release]:
    """No sums file for kwok's raw binaries: GitHub's release API states their digests."""

    def release(arch: str) -> downloads.Release:
        return downloads.GitHubAsset("kubernetes-sigs/kwok", versions.KWOK, f"{name}-linux-{arch}")

    return release


ETCD = Binary("etcd", versions.ETCD, _build_etcd, _etcd_release)
KUBERNETES = tuple(
    Binary(
        name,
        versions.KUBERNETES,
        _build_kubernetes(name),
        _kubernetes_release(name),
        family="kubernetes",
    )
    for name in KUBERNETES_COMMANDS
)
#: kwok with its kubelet API closed to clients without the cluster's certificate (patches.py);
#: kwokctl as published.
KWOK = (
    Binary(
        "kwok",
        versions.KWOK + patches.KWOK.label,
        gopatch.go_build(patches.KWOK, f"{versions.KWOK_MODULE}/cmd/kwok", "kwok"),
        family="kwok",
    ),
    Binary(
        "kwokctl",
        versions.KWOK,
        binaries.go_install(f"{versions.KWOK_MODULE}/cmd/kwokctl", versions.KWOK),
        _kwok_release("kwokctl"),
        family="kwok",
    ),
)
PROMETHEUS = binaries.prometheus_binary("prometheus")
#: No release binary of the kwok provider exists (Karpenter ships images): always built, with
#: its ports on loopback (patches.py).
KARPENTER = Binary(
    "karpenter-kwok",
    versions.KARPENTER + patches.KARPENTER.label,
    gopatch.go_build(
        patches.KARPENTER,
        f"{versions.KARPENTER_MODULE}/kwok",
        "karpenter-kwok",
        toolchain="auto",
    ),
)
#: No release binary is reachable here (GitHub): always built, like Karpenter.
VERSITYGW = Binary(
    "versitygw",
    versions.VERSITYGW,
    binaries.go_install(f"{versions.VERSITYGW_MODULE}/cmd/versitygw", versions.VERSITYGW),
)
#: Everything ``up`` starts or runs (promtool checks each room's monitoring objects before
#: Prometheus loads them, ``monitoring_check``), in the order it is obtained: the longest
#: builds first, so that the last ones to finish are short.
CLUSTER = (*KUBERNETES, KARPENTER, ETCD, *KWOK, PROMETHEUS, binaries.PROMTOOL, VERSITYGW)
#: What a reader's first run obtains: the cluster and the notebooks' policy engine (promtool,
#: kube-score and checkov are the test tiers' and come with ``make test``).
FIRST_RUN = (*CLUSTER, binaries.CYCLONUS)
_BY_NAME = {b.name: b for b in CLUSTER}


def ensure(*names: str) -> dict[str, Path]:
    """The named cluster binaries (all of them by default), obtained first when missing."""
    return binaries.ensure(_BY_NAME[n] for n in names or _BY_NAME)
