"""Talking to vLLM before it listens: bounded retries, then a clear error."""

from __future__ import annotations

import socket

import pytest

import tutorial_lib as tl
from tests.helpers import serve_files
from tutorial_lib.serving import completions


def test_request_before_the_server_listens_gives_up_with_a_clear_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, not listening
        with pytest.raises(tl.errors.NotReadyError, match="did not answer /health"):
            completions.wait_until_serving(url, attempts=3, delay=0.1)


def test_a_url_without_a_scheme_is_refused_at_once_with_the_fix():
    with pytest.raises(tl.errors.ServingError, match="needs http:// or https://") as refused:
        completions.wait_until_serving("localhost:8000", attempts=30, delay=10)
    assert "http://localhost:8000" in refused.value.hint


def test_a_server_that_answers_404_on_health_is_named_not_waited_for(tmp_path):
    with (
        serve_files(tmp_path) as url,  # any HTTP server that is not vLLM
        pytest.raises(tl.errors.ServingError, match="answered 404") as refused,
    ):
        completions.wait_until_serving(url + "/v1", attempts=30, delay=10)
    assert "without /v1" in refused.value.hint
