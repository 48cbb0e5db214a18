"""Small helpers shared by the test tiers."""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TypeVar

import yaml

T = TypeVar("T")

#: The repository's root (pyproject.toml, manifests/, notebooks/).
ROOT = Path(__file__).resolve().parents[1]


def notebooks_in(folder: Path) -> list[Path]:
    """The notebooks in ``folder``, without the hidden doubled copies that nbmake's items write
    beside them while they run (tests/nbmake_twice.py): the unit tier beside the lanes found one.
    """
    return sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))


NOTEBOOKS = notebooks_in(ROOT / "notebooks")
#: A server address where nothing listens: every request is refused at once.
NOWHERE = "https://127.0.0.1:1"
#: The label on nodes a test fixture creates, so that a later run can find what a killed one
#: left behind.
FIXTURE_LABEL_KEY, FIXTURE_LABEL = "vllm-tutorial/test-fixture", "true"


def eventually(
    probe: Callable[[], T | None], timeout: float = 30, what: str | Callable[[], str] = ""
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``timeout``.

    ``what`` may be a function: the failure then says how things stood when time ran out.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"not within {timeout}s: {what() if callable(what) else what}")


def write_kubeconfig(path: Path, server: str = NOWHERE, context: str = "real") -> Path:
    """A kubeconfig with one context ``context`` for ``server``, current, with a token user.

    The token keeps kubectl from prompting for a username on a terminal (it does that for
    a user without credentials).
    """
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": context,
                "clusters": [{"name": context, "cluster": {"server": server}}],
                "users": [{"name": context, "user": {"token": "not-a-real-token"}}],
                "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            }
        )
    )
    return path


#: What every overlay renders to: the blog's five objects and the pod's own ServiceAccount.
OVERLAY_KINDS = [
    "Deployment",
    "Namespace",
    "NetworkPolicy",
    "Service",
    "ServiceAccount",
    "ServiceMonitor",
]


class _Files(SimpleHTTPRequestHandler):
    """Serves a folder; the files in ``truncated`` announce their size but send half of it."""

    truncated: frozenset[str] = frozenset()

    def copyfile(self, source, outputfile) -> None:
        if self.path.lstrip("/") in self.truncated:
            data = source.read()
            outputfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        super().copyfile(source, outputfile)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve_files(root: Path, truncated: frozenset[str] = frozenset()) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 for ``root``'s files; yields its base URL."""
    handler = type("Files", (_Files,), {"truncated": truncated})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=root))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
