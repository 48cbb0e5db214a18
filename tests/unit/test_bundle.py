"""The workshop bundle's format and installer, on small bundles written by the real writer.

The whole path (a real bundle, a network namespace with only loopback, an empty cache, the
first completion) is proven by tests/install/test_bundle_offline.py.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tutorial_lib.errors import LocalClusterError
from tutorial_lib.local import bundle, bundle_install
from tutorial_lib.tools import cache, pins

MODEL = "huggingface/hub/models--x--y/snapshots/r/model.safetensors"
FILES = {
    "bin/kwok-v0.8.0": b"#!/bin/sh\necho kwok\n",
    MODEL: b"weights " * 1000,
    "wheels/notebook/a-1.0-py3-none-any.whl": b"not really a wheel",
}


def write_bundle(folder: Path, files: dict[str, bytes] = FILES, **versions: str) -> Path:
    sources = folder / "sources"
    paths = {}
    for name, data in files.items():
        path = sources / name.replace("/", "_")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o755 if name.startswith("bin/") else 0o644)
        paths[name] = path
    bundle.write(folder / "bundle.tar", paths, versions=versions)
    return folder / "bundle.tar"


@pytest.fixture
def own_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("VLLM_TUTORIAL_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_binaries_and_model_land_where_the_cache_keeps_them(tmp_path, own_cache):
    opened = bundle.Bundle(write_bundle(tmp_path))
    assert opened.unpack("bin/", cache.bin_dir()) == ["bin/kwok-v0.8.0"]
    assert opened.unpack("huggingface/", cache.huggingface_dir()) == [MODEL]
    kwok = own_cache / "bin" / "kwok-v0.8.0"
    assert subprocess.run([kwok], capture_output=True, text=True).stdout == "kwok\n"
    model = own_cache / "huggingface" / MODEL.removeprefix("huggingface/")
    assert model.read_bytes() == FILES[MODEL]
    assert not stat.S_IXUSR & model.stat().st_mode
    assert opened.unpack("bin/", cache.bin_dir()) == [], "a second run writes nothing"
    assert opened.manifest.size == sum(len(data) for data in FILES.values())


def test_a_damaged_file_is_refused_and_nothing_of_it_is_kept(tmp_path, own_cache):
    path = write_bundle(tmp_path)
    data = bytearray(path.read_bytes())
    at = data.index(b"weights weights")
    data[at : at + 7] = b"WEIGHTS"
    path.write_bytes(bytes(data))
    opened = bundle.Bundle(path)
    with pytest.raises(LocalClusterError, match=r"damaged: .*model\.safetensors does not match"):
        opened.unpack("huggingface/", cache.huggingface_dir())
    snapshot = own_cache / "huggingface" / "hub" / "models--x--y" / "snapshots" / "r"
    assert list(snapshot.iterdir()) == [], "neither the file nor a partial copy remains"


@pytest.mark.parametrize("cut", ["halfway", "inside the manifest"])
def test_a_copy_cut_short_is_refused_before_anything_is_unpacked(tmp_path, own_cache, cut):
    path = write_bundle(tmp_path)
    data = path.read_bytes()
    end = len(data) // 2 if cut == "halfway" else data.rindex(b'"format"')
    path.write_bytes(data[:end])
    with pytest.raises(LocalClusterError, match="not a complete tutorial bundle"):
        bundle.Bundle(path)
    assert not own_cache.exists()


def test_another_file_is_not_a_bundle(tmp_path):
    path = tmp_path / "notes.tar"
    path.write_text("hello")
    with pytest.raises(LocalClusterError, match="not a complete tutorial bundle"):
        bundle.Bundle(path)


@pytest.mark.parametrize(
    ("target", "made_for", "refusal"),
    [
        ("this_machine", "aarch64", "made for aarch64; this machine is"),
        ("this_python", "3.9", "wheels for Python 3.9; this is Python"),
    ],
)
def test_a_bundle_for_another_machine_or_python_is_refused(
    tmp_path, monkeypatch, target, made_for, refusal
):
    here = getattr(bundle, target)()
    with monkeypatch.context() as elsewhere:
        elsewhere.setattr(bundle, target, lambda: made_for)
        path = write_bundle(tmp_path)
    with pytest.raises(LocalClusterError, match=refusal) as refused:
        bundle.Bundle(path)
    assert here in str(refused.value)


def test_a_name_outside_the_bundles_folders_is_refused(tmp_path):
    path = write_bundle(tmp_path, {"bin/../../escape": b"x"})
    with pytest.raises(LocalClusterError, match="outside its folders"):
        bundle.Bundle(path)


def test_a_bundle_of_another_version_of_the_tutorial_is_refused(tmp_path, own_cache):
    path = write_bundle(tmp_path, pyproject="0123456789ab", tutorial="abc1234")
    with pytest.raises(LocalClusterError, match="another version of the tutorial") as refused:
        bundle_install.install(path, tmp_path / "venv")
    assert "abc1234" in str(refused.value)
    assert not (tmp_path / "venv").exists()


def test_the_installer_runs_under_a_bare_python(tmp_path):
    """No site-packages (``-S``): no Kubernetes client, no tqdm; what it can do, it does."""
    path = write_bundle(tmp_path)
    env = {**os.environ, "VLLM_TUTORIAL_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-S", "-m", "tutorial_lib.local", "install-bundle", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert (tmp_path / "cache" / "bin" / "kwok-v0.8.0").exists(), done.stdout + done.stderr
    assert done.returncode == 1
    assert "needs the tutorial's own packages" in done.stderr
    assert "--venv .venv" in done.stderr


@pytest.mark.parametrize("pinned_as", ["another binary", "this binary"])
def test_a_binary_is_installed_only_when_it_is_the_release_the_repository_pins(
    tmp_path, own_cache, monkeypatch, pinned_as
):
    kwok = FILES["bin/kwok-v0.8.0"]
    sha = hashlib.sha256(kwok if pinned_as == "this binary" else b"the real kwok").hexdigest()
    pins_file = tmp_path / "release-pins.txt"
    pins_file.write_text(f"{sha}  {pins.binary_key('kwok-v0.8.0', pins.arch())}\n")
    monkeypatch.setattr(pins, "PINS_FILE", pins_file)
    opened = bundle.Bundle(write_bundle(tmp_path))
    if pinned_as == "this binary":
        bundle_install.check_pinned_binaries(opened)
        return
    with pytest.raises(LocalClusterError, match="not the release the repository pins") as refused:
        bundle_install.install(opened.path)
    assert "kwok-v0.8.0" in str(refused.value) and sha in str(refused.value)
    assert not (own_cache / "bin").exists(), "nothing of the bundle was installed"
