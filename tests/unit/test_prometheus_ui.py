"""Prometheus' web UI for a binary built from the Go module: when it is built, where it goes.

The build itself (pnpm, Vite) runs in ``make prepare``; the browser tier clicks through the
result on the local cluster (``test_reader``, after notebook 05).
"""

from __future__ import annotations

import pytest

from tutorial_lib.errors import ToolError
from tutorial_lib.local import doctor, prometheus_ui


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VLLM_TUTORIAL_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_release_binary_carries_the_ui_and_a_module_build_does_not(tmp_path, monkeypatch):
    monkeypatch.setattr(prometheus_ui, "_CHUNK", 64)  # the marker across a chunk's edge
    release = tmp_path / "release"
    release.write_bytes(b"x" * 50 + b"static/mantine-ui/index.html.gz" + b"y" * 100)
    module_build = tmp_path / "module-build"
    module_build.write_bytes(b"/static/mantine-ui" + b"z" * 200 + b"/index.html")
    assert prometheus_ui.embedded(release)
    assert not prometheus_ui.embedded(module_build)


def test_the_built_ui_is_linked_where_the_binary_looks_for_it(cache, tmp_path):
    home = tmp_path / "prometheus"
    prometheus_ui.link(home)
    assert not (home / "web").exists(), "nothing built: nothing linked (the UI answers 500)"
    index = prometheus_ui.static_dir() / "mantine-ui" / "index.html"
    index.parent.mkdir(parents=True)
    index.write_text("<!doctype html>")
    prometheus_ui.link(home)
    prometheus_ui.link(home)  # again: the same link
    assert (home / "web" / "ui" / "static" / "mantine-ui" / "index.html").read_text() == (
        "<!doctype html>"
    )


@pytest.mark.parametrize(
    ("node", "said"),
    [
        (None, "no Node.js and npm here"),
        ("v18.19.1", "Node.js v18.19.1 is older than 20.19"),
        ("v20.20.2", None),
    ],
)
def test_node_is_checked_before_anything_is_built(cache, tmp_path, monkeypatch, node, said):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if node is not None:
        for name, text in (("node", f"echo {node}"), ("npm", "true")):
            (bin_dir / name).write_text(f"#!/bin/sh\n{text}\n")
            (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    problem = prometheus_ui.node_problem()
    assert (problem is None) if said is None else (said in problem)
    finding = doctor._prometheus_ui()
    assert finding.blocking is (said is None) and finding.ok is (said is None)


def test_a_failed_build_is_said_once_and_only_prepare_tries_again(cache, tmp_path, monkeypatch):
    binary = tmp_path / "prometheus"
    binary.write_bytes(b"a Prometheus built from its Go module")
    builds: list[str] = []

    def failing(folder):
        builds.append(str(folder))
        raise ToolError("pnpm: ERR_PNPM_FETCH_404 GET .../code-highlight-9.7.2.tgz")

    monkeypatch.setattr(prometheus_ui, "node_problem", lambda: None)
    monkeypatch.setattr(prometheus_ui, "_build", failing)
    assert prometheus_ui.ensure(binary) is None
    assert prometheus_ui.ensure(binary) is None, "the next up (each notebook's connect)"
    assert len(builds) == 1
    assert prometheus_ui.ensure(binary, again=True) is None  # make prepare
    assert len(builds) == 2
