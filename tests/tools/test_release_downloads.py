"""The release-download path, against a local server with the release hosts' real URL layout.

The served files are release-shaped copies of the Go-built binaries (``make prepare``): raw
files with ``.sha256`` for Kubernetes, ``.tar.gz`` archives with sums files for etcd,
Prometheus, cyclonus and kube-score, raw assets with digests in GitHub's release API for
kwok. The layout is written here from the projects' release pages, not taken from the code,
so a wrong URL in the code fails these tests. The repository's pins are what
``pin-releases`` writes from these hosts; an attacker's mirror serves other binaries with
checksum files that vouch for them.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import serve_files
from tutorial_lib.errors import ToolError
from tutorial_lib.local import binaries as cluster_binaries
from tutorial_lib.local import release_pins
from tutorial_lib.local import versions as cluster_versions
from tutorial_lib.tools import binaries, downloads, pins, versions

ARCH = binaries.arch()
EVERY_BINARY = tuple({b.name: b for b in (*cluster_binaries.CLUSTER, *binaries.GO_TOOLS)}.values())
#: Those with a release download: all but Karpenter's kwok provider (Karpenter ships images),
#: kwok (patched) and versitygw (its releases are GitHub's, not reachable to pin: issue 28).
RELEASED = tuple(b for b in EVERY_BINARY if b.release is not None)
#: The Go toolchain of this tier, before a fixture takes it off PATH.
GO = shutil.which("go")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write(root: Path, url_path: str, data: bytes) -> None:
    path = root / url_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def release_with_sums(root: Path, base: str, sums: str, archives: dict[str, bytes]) -> None:
    listing = "".join(f"{sha256(data)}  {name}\n" for name, data in archives.items())
    write(root, f"{base}/{sums}", listing.encode())
    for name, data in archives.items():
        write(root, f"{base}/{name}", data)


@pytest.fixture(scope="module")
def built() -> dict[str, bytes]:
    """Every binary's bytes, from the real cache (built or downloaded by make prepare)."""
    paths = cluster_binaries.ensure() | binaries.ensure(binaries.GO_TOOLS)
    return {name: path.read_bytes() for name, path in paths.items()}


def write_release_hosts(root: Path, built: dict[str, bytes]) -> Path:
    """The release hosts' files for ``built``, each with the checksum its project publishes."""
    for name in cluster_binaries.KUBERNETES_COMMANDS:
        path = f"dl.k8s.io/release/{cluster_versions.KUBERNETES}/bin/linux/{ARCH}/{name}"
        write(root, path, built[name])
        write(root, f"{path}.sha256", sha256(built[name]).encode())
    etcd = f"etcd-{cluster_versions.ETCD}-linux-{ARCH}"
    release_with_sums(
        root,
        f"github.com/etcd-io/etcd/releases/download/{cluster_versions.ETCD}",
        "SHA256SUMS",
        {f"{etcd}.tar.gz": tar_gz({f"{etcd}/etcd": built["etcd"], f"{etcd}/README.md": b"etcd"})},
    )
    prometheus = f"prometheus-{versions.PROMETHEUS[1:]}.linux-{ARCH}"
    members = {f"{prometheus}/{name}": built[name] for name in ("prometheus", "promtool")}
    release_with_sums(
        root,
        f"github.com/prometheus/prometheus/releases/download/{versions.PROMETHEUS}",
        "sha256sums.txt",
        {f"{prometheus}.tar.gz": tar_gz(members)},
    )
    release_with_sums(
        root,
        f"github.com/mattfenwick/cyclonus/releases/download/{versions.CYCLONUS}",
        f"cyclonus_{versions.CYCLONUS[1:]}_checksums.txt",
        {
            f"cyclonus_linux_{ARCH}.tar.gz": tar_gz(
                {f"cyclonus_linux_{ARCH}/cyclonus": built["cyclonus"]}
            )
        },
    )
    release_with_sums(
        root,
        f"github.com/zegl/kube-score/releases/download/{versions.KUBE_SCORE}",
        "checksums.txt",
        {
            f"kube-score_{versions.KUBE_SCORE[1:]}_linux_{ARCH}.tar.gz": tar_gz(
                {"kube-score": built["kube-score"], "LICENSE": b"MIT"}
            )
        },
    )
    kwok = f"kubernetes-sigs/kwok/releases/download/{cluster_versions.KWOK}"
    assets = []
    for name in ("kwokctl",):  # kwok itself is always built, with the tutorial's patch
        write(root, f"github.com/{kwok}/{name}-linux-{ARCH}", built[name])
        assets.append({"name": f"{name}-linux-{ARCH}", "digest": f"sha256:{sha256(built[name])}"})
    api = f"api.github.com/repos/kubernetes-sigs/kwok/releases/tags/{cluster_versions.KWOK}"
    write(root, api, json.dumps({"tag_name": cluster_versions.KWOK, "assets": assets}).encode())
    return root


@pytest.fixture(scope="module")
def release_hosts(built, tmp_path_factory) -> Path:
    return write_release_hosts(tmp_path_factory.mktemp("release-hosts"), built)


@pytest.fixture(scope="module")
def honest_pins(release_hosts, tmp_path_factory) -> Path:
    """What ``python -m tutorial_lib.local pin-releases`` writes from the release hosts."""
    path = tmp_path_factory.mktemp("pins") / "release-pins.txt"
    with serve_files(release_hosts) as url, pytest.MonkeyPatch.context() as env:
        env.setenv(downloads.MIRROR_VARIABLE, url)
        release_pins.write(path)
    return path


@pytest.fixture
def pinned(honest_pins, monkeypatch) -> Path:
    """The repository's pins file is the honest one."""
    monkeypatch.setattr(pins, "PINS_FILE", honest_pins)
    return honest_pins


@pytest.fixture
def fresh_cache(built, tmp_path, monkeypatch) -> Path:
    """An empty cache, downloads allowed, and no Go toolchain on PATH."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("VLLM_TUTORIAL_CACHE", str(cache))
    monkeypatch.delenv("VLLM_TUTORIAL_OFFLINE", raising=False)
    path = os.environ.get("PATH", "").split(os.pathsep)
    monkeypatch.setenv("PATH", os.pathsep.join(d for d in path if not (Path(d) / "go").exists()))
    return cache


@pytest.fixture
def mirror(release_hosts, pinned, fresh_cache, monkeypatch) -> Iterator[Path]:
    with serve_files(release_hosts) as url:
        monkeypatch.setenv(downloads.MIRROR_VARIABLE, url)
        yield release_hosts


def leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in (cache / "bin").iterdir()) if (cache / "bin").exists() else []


def test_every_released_binary_downloads_and_installs_without_go(built, mirror, fresh_cache):
    built_only = sorted(b.name for b in EVERY_BINARY if b not in RELEASED)
    assert built_only == ["karpenter-kwok", "kwok", "versitygw"]
    installed = binaries.ensure(RELEASED)
    assert sorted(installed) == sorted(b.name for b in RELEASED)
    for name, path in installed.items():
        assert path.read_bytes() == built[name], name
        assert os.access(path, os.X_OK), name
    assert not [name for name in leftovers(fresh_cache) if name.endswith(".partial")]
    lines = pins.PINS_FILE.read_text().splitlines()
    pinned_keys = {line.split()[1] for line in lines if line and not line.startswith("#")}
    for binary in RELEASED:
        assert binary.release is not None
        release = binary.release(ARCH)
        key = pins.binary_key(binary.path.name, ARCH)
        assert {release.url, key} <= pinned_keys, binary.name
        assert pins.pinned(key) == sha256(built[binary.name]), binary.name


def test_a_mirror_without_the_repositorys_pins_installs_nothing(
    release_hosts, fresh_cache, tmp_path, monkeypatch
):
    monkeypatch.setattr(pins, "PINS_FILE", tmp_path / "no-pins.txt")
    with serve_files(release_hosts) as url:
        monkeypatch.setenv(downloads.MIRROR_VARIABLE, url)
        with pytest.raises(ToolError, match="release download is unavailable") as refused:
            binaries.ensure([cluster_binaries.ETCD])
    assert "pinned in the repository" in refused.value.message
    assert "proves nothing" in refused.value.message
    assert leftovers(fresh_cache) == []


def test_a_binary_without_a_release_says_that_go_builds_it(mirror, fresh_cache):
    with pytest.raises(ToolError, match="has no release binary to download") as refused:
        binaries.ensure([cluster_binaries.KARPENTER])
    assert "karpenter-kwok" in refused.value.message and "Install Go" in refused.value.hint
    assert leftovers(fresh_cache) == []


@pytest.mark.parametrize(
    "binary",
    [cluster_binaries.ETCD, cluster_binaries.KWOK[1], cluster_binaries.KUBERNETES[2]],
    ids=["sums-file", "github-digest", "sha256-file"],
)
def test_a_mirror_vouching_for_another_binary_is_refused_and_nothing_installed(
    binary, built, pinned, fresh_cache, tmp_path, monkeypatch
):
    """The attacker's mirror serves their binary and a checksum file that matches it."""
    evil = write_release_hosts(tmp_path / "evil", built | {binary.name: b"#!/bin/sh\nid\n"})
    with serve_files(evil) as url:
        monkeypatch.setenv(downloads.MIRROR_VARIABLE, url)
        assert binary.release is not None
        release = binary.release(ARCH)
        assert release.published_sha256() != pins.pinned(release.url), "the mirror vouches"
        with pytest.raises(ToolError, match="Checksum mismatch") as refused:
            binaries.ensure([binary])
    assert release.url.rsplit("/", 1)[-1] in refused.value.message
    assert "nothing was installed" in refused.value.hint
    assert leftovers(fresh_cache) == []


def test_a_download_cut_short_is_refused_and_nothing_installed(
    release_hosts, pinned, fresh_cache, monkeypatch
):
    path = f"dl.k8s.io/release/{cluster_versions.KUBERNETES}/bin/linux/{ARCH}/kube-scheduler"
    with serve_files(release_hosts, truncated=frozenset({path})) as url:
        monkeypatch.setenv(downloads.MIRROR_VARIABLE, url)
        with pytest.raises(ToolError, match="cut short") as refused:
            binaries.ensure([cluster_binaries.KUBERNETES[2]])
    assert "kube-scheduler" in refused.value.message
    assert leftovers(fresh_cache) == []


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_release_hosts_without_go_say_what_to_install(pinned, fresh_cache, monkeypatch):
    monkeypatch.setenv(downloads.MIRROR_VARIABLE, f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(ToolError, match="release download is unavailable") as refused:
        binaries.ensure([binaries.KUBE_SCORE])
    assert "Go 1.26" in refused.value.hint
    assert "doctor" in refused.value.hint
    assert leftovers(fresh_cache) == []


def test_unreachable_release_hosts_fall_back_to_the_go_build(
    pinned, fresh_cache, monkeypatch, capfd
):
    assert GO, "the tools tier needs Go (make prepare)"
    monkeypatch.setenv("PATH", os.environ["PATH"] + os.pathsep + str(Path(GO).parent))
    monkeypatch.setenv(downloads.MIRROR_VARIABLE, f"http://127.0.0.1:{closed_port()}")
    path = binaries.tool(binaries.KUBE_SCORE)
    assert "building from the Go module proxy instead" in capfd.readouterr().err
    version = subprocess.run([path, "version"], capture_output=True, text=True, check=True)
    assert versions.KUBE_SCORE in version.stdout
