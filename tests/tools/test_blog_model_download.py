"""The blog's model comes from the Hugging Face Hub where it can, against a local Hub.

The server below answers as the Hub's HTTP API does (``/api/models/<repo>/revision/<rev>``,
``/api/models/<repo>/tree/<commit>``, ``/<repo>/resolve/<commit>/<file>`` with the commit and
ETag headers), written here from the Hub's API, not taken from the code; the client is the
runtime's own ``huggingface_hub``, as on a reader's GPU machine. Its files are small
stand-ins for the model's: what is proven is where they land and what happens when the Hub
fails, not the 4 GB.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers import H100, fake_nvidia_smi
from tutorial_lib.local import blog_model, gpus, runtime

COMMIT = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
FILES = {
    "config.json": json.dumps({"model_type": "mistral", "quantization_config": {}}).encode(),
    "tokenizer.json": b'{"version": "1.0"}',
    "model.safetensors": bytes(range(256)) * 64,
}
LFS = {"model.safetensors"}


class Hub(BaseHTTPRequestHandler):
    """The Hub's API for one repository at one commit; ``failing``: every answer a 503."""

    asked: list[str]
    failing: bool = False

    def log_message(self, *_args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        self.asked.append(f"{self.command} {self.path}")
        repo = f"/api/models/{blog_model.MODEL_ID}"
        path = self.path.split("?")[0]
        if self.failing:
            self._send(503, b"Service Unavailable", body)
        elif path == f"{repo}/revision/{blog_model.REVISION}":
            siblings = [{"rfilename": name} for name in FILES]
            info = {"id": blog_model.MODEL_ID, "sha": COMMIT, "siblings": siblings}
            self._send(200, json.dumps(info).encode(), body, "application/json")
        elif path.rstrip("/") == f"{repo}/tree/{COMMIT}":
            self._send(
                200, json.dumps([_entry(n) for n in FILES]).encode(), body, "application/json"
            )
        elif path.startswith(f"/{blog_model.MODEL_ID}/resolve/{COMMIT}/"):
            name = path.rsplit("/", 1)[1]
            if name not in FILES:
                self._send(404, b"Entry not found", body, headers={"X-Error-Code": "EntryNotFound"})
            else:
                headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{_etag(name)}"'}
                self._send(200, FILES[name], body, headers=headers)
        else:
            self._send(404, b"Repository not found", body)

    def _send(
        self,
        code: int,
        data: bytes,
        body: bool,
        kind: str = "text/plain",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(code)
        for key, value in {"Content-Type": kind, **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)


def _etag(name: str) -> str:
    """A Git LFS file's ETag is its SHA-256, another file's its Git blob id."""
    data = FILES[name]
    if name in LFS:
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _entry(name: str) -> dict:
    entry = {"type": "file", "oid": _etag(name), "size": len(FILES[name]), "path": name}
    if name in LFS:
        entry["lfs"] = {"oid": _etag(name), "size": len(FILES[name]), "pointerSize": 134}
    return entry


@pytest.fixture
def hub(monkeypatch, tmp_path) -> Iterator[type[Hub]]:
    """A local Hub that ``HF_ENDPOINT`` points at, online, on a machine with an H100."""
    fake_nvidia_smi(tmp_path, H100)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.delenv(gpus.SWITCH, raising=False)  # the Makefile's tiers switch it off
    handler = type("LocalHub", (Hub,), {"asked": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    for name in ("VLLM_TUTORIAL_OFFLINE", "HF_HUB_OFFLINE", blog_model.SWITCH, "HF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VLLM_TUTORIAL_CACHE", str(tmp_path / "cache"))
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def python() -> Path:
    """The runtime's Python, whose huggingface_hub a GPU machine's download runs on."""
    installed = runtime.installed(runtime.Build.CPU)
    assert installed is not None, "the vLLM runtime is not installed: run `make prepare`"
    return installed.venv / "bin" / "python"


def test_the_blog_model_lands_where_vllm_finds_it_offline(hub, python, tmp_path, capsys):
    hf_home = tmp_path / "huggingface"
    snapshot = blog_model.ensure(python, hf_home)
    assert (
        snapshot == hf_home / "hub" / "models--TheBloke--Mistral-7B-v0.1-AWQ" / "snapshots" / COMMIT
    )
    assert {p.name: p.read_bytes() for p in snapshot.iterdir()} == FILES
    assert blog_model.cached(hf_home) == snapshot
    assert "stand-in" not in capsys.readouterr().out
    # What a pod does: vLLM resolves the name offline (HF_HUB_OFFLINE=1, the bridge's setting).
    resolve = "from huggingface_hub import snapshot_download as s; print(s('%s'))"
    found = subprocess.run(
        [python, "-c", resolve % blog_model.MODEL_ID],
        env={"HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.strip() == str(snapshot)
    asked = len(hub.asked)
    assert blog_model.ensure(python, hf_home, again=True) == snapshot
    assert len(hub.asked) == asked, "a complete download is not asked for again"


def test_a_hub_that_fails_leaves_the_stand_in_and_only_prepare_asks_again(
    hub, python, tmp_path, capsys
):
    hub.failing = True
    hf_home = tmp_path / "huggingface"
    assert blog_model.ensure(python, hf_home) is None
    said = capsys.readouterr().out
    assert "The stand-in model serves on this machine's GPU" in said
    assert "503" in said and "`make prepare` tries the download again" in said
    asked = len(hub.asked)
    assert asked > 0
    assert blog_model.ensure(python, hf_home) is None, "the next up"
    assert len(hub.asked) == asked, "every notebook's connect would wait for the Hub again"
    hub.failing = False
    assert blog_model.ensure(python, hf_home, again=True) is not None, "make prepare"


def test_a_download_cut_off_is_not_taken_for_the_model(hub, python, tmp_path):
    hf_home = tmp_path / "huggingface"
    snapshot = blog_model.ensure(python, hf_home)
    assert snapshot is not None
    blobs = snapshot.parents[1] / "blobs"
    (blobs / f"{_etag('model.safetensors')}.incomplete").write_bytes(b"half")
    assert blog_model.cached(hf_home) is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [("VLLM_TUTORIAL_OFFLINE", "1"), ("HF_HUB_OFFLINE", "1"), (blog_model.SWITCH, "off")],
)
def test_offline_or_switched_off_nothing_is_asked(
    hub, python, tmp_path, capsys, monkeypatch, variable, value
):
    monkeypatch.setenv(variable, value)
    assert blog_model.ensure(python, tmp_path / "huggingface", again=True) is None
    assert hub.asked == []
    assert f"{variable}" in capsys.readouterr().out
