"""Module zips from a local server laid out as the Go module proxy is, checked by hash."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from tests.helpers import serve_files
from tutorial_lib.errors import ToolError
from tutorial_lib.tools import downloads, gomodules

MODULE, VERSION = "example.com/Tools/crds", "v1.2.3"


def zipped(files: dict[str, str]) -> bytes:
    """A module zip as the proxy serves it: every name under ``<module>@<version>/``."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        for name, text in files.items():
            archive.writestr(f"{MODULE}@{VERSION}/{name}", text)
    return data.getvalue()


def h1(files: dict[str, str]) -> str:
    return gomodules.hash1(zipfile.ZipFile(io.BytesIO(zipped(files))))


def served(root: Path, files: dict[str, str]) -> None:
    """The zip where the proxy has it: ``/<escaped module>/@v/<version>.zip``."""
    folder = root / "proxy.example" / "example.com" / "!tools" / "crds" / "@v"
    folder.mkdir(parents=True)
    (folder / f"{VERSION}.zip").write_bytes(zipped(files))


@pytest.fixture
def proxy(tmp_path, monkeypatch):
    monkeypatch.setenv("VLLM_TUTORIAL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GOPROXY", "https://proxy.example,direct")
    with serve_files(tmp_path / "served") as url:
        monkeypatch.setenv(downloads.MIRROR_VARIABLE, url)
        yield tmp_path / "served"


def test_a_file_of_the_module_is_read_and_the_zip_kept_for_next_time(proxy, tmp_path):
    files = {"crds/a.yaml": "kind: A\n", "go.mod": "module x\n"}
    served(proxy, files)
    assert gomodules.read(MODULE, VERSION, h1(files), "crds/a.yaml") == "kind: A\n"
    (proxy / "proxy.example").rename(proxy / "gone")  # the proxy goes away: the cache answers
    assert gomodules.read(MODULE, VERSION, h1(files), "go.mod") == "module x\n"


def test_a_zip_whose_hash_differs_is_refused_and_not_kept(proxy, tmp_path):
    served(proxy, {"crds/a.yaml": "kind: Tampered\n"})
    honest = h1({"crds/a.yaml": "kind: A\n"})
    with pytest.raises(ToolError, match="has hash h1:"):
        gomodules.read(MODULE, VERSION, honest, "crds/a.yaml")
    assert not list((tmp_path / "cache").rglob("*.zip"))


def test_the_hash_depends_on_names_and_contents_not_on_the_order_in_the_zip():
    one = h1({"a": "1", "b": "2"})
    assert one == h1({"b": "2", "a": "1"})
    assert one != h1({"a": "2", "b": "1"})
    assert one != h1({"a": "1", "c": "2"})


def test_an_unreachable_proxy_says_which_module_and_what_to_set(tmp_path, monkeypatch):
    monkeypatch.setenv("VLLM_TUTORIAL_CACHE", str(tmp_path))
    monkeypatch.setenv(downloads.MIRROR_VARIABLE, "http://127.0.0.1:9")  # discard: nothing
    with pytest.raises(ToolError, match=f"did not give {MODULE}@{VERSION}") as refused:
        gomodules.read(MODULE, VERSION, "h1:x", "go.mod")
    assert "GOPROXY" in refused.value.hint
