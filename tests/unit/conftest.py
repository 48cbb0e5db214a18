"""Fixtures of the unit tier: no Go-built tool, and clusters that are not there or are faked."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers import write_kubeconfig
from tutorial_lib.kube.connection import Connection, from_kubeconfig


@pytest.fixture(scope="session")
def empty_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("empty-cache")


@pytest.fixture(autouse=True)
def no_go_built_tools(empty_cache, monkeypatch) -> None:
    """The unit tier's promise, kept for every test: no Go toolchain, no Go-built tool.

    An empty tool cache, no downloads, no ``go`` on PATH: a test that needs the policy
    engine or promtool fails at once (ToolError) instead of passing on a machine where
    ``make prepare`` happened to run. Such tests belong in tests/tools.
    """
    monkeypatch.setenv("VLLM_TUTORIAL_CACHE", str(empty_cache))
    monkeypatch.setenv("VLLM_TUTORIAL_OFFLINE", "1")
    path = os.environ.get("PATH", "").split(os.pathsep)
    monkeypatch.setenv("PATH", os.pathsep.join(d for d in path if not (Path(d) / "go").exists()))


@pytest.fixture
def unreachable(tmp_path) -> Connection:
    """A connection to https://127.0.0.1:1, where nothing listens."""
    return from_kubeconfig(write_kubeconfig(tmp_path / "kubeconfig.yaml"))


class _Refusing(BaseHTTPRequestHandler):
    """Answers every request with the server's ``status`` and ``body``."""

    def do_GET(self) -> None:  # the name http.server dispatches GET requests to
        status, body = self.server.answer  # type: ignore[attr-defined]
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def refusing_api(tmp_path) -> Iterator[Callable[[int, dict | str], Connection]]:
    """An API server on loopback that answers every request with one status and body.

    ``refusing_api(404, status_object)`` returns a connection to it.
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()

    def connect(status: int, body: dict | str) -> Connection:
        server.answer = (status, body if isinstance(body, str) else json.dumps(body))  # type: ignore[attr-defined]
        url = f"http://127.0.0.1:{server.server_address[1]}"
        return from_kubeconfig(write_kubeconfig(tmp_path / "fake.yaml", url))

    yield connect
    server.shutdown()
    server.server_close()
    thread.join(5)
