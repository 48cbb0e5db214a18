"""The local cluster's Prometheus: where it listens."""

from __future__ import annotations

PORT = 39090


def url() -> str:
    return f"http://127.0.0.1:{PORT}"
