"""Talking to vLLM before it listens: bounded retries, then a clear error."""

from __future__ import annotations

import socket

import pytest

import tutorial_lib as tl
from tutorial_lib.serving import completions


def test_request_before_the_server_listens_gives_up_with_a_clear_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, not listening
        with pytest.raises(tl.errors.NotReadyError, match="did not answer /health"):
            completions.wait_until_serving(url, attempts=3, delay=0.1)
