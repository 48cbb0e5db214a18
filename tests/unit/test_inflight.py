"""An answer in flight ends one of three ways, and each is told apart from the others.

A loopback server streams completions the way vLLM does (server-sent events, ``[DONE]``
last) and then either finishes, hangs up mid-answer, or falls silent with the line open.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tutorial_lib.serving.inflight import InFlight

TOKENS = 4


class _Streaming(BaseHTTPRequestHandler):
    """Streams two tokens, then does what the server's ``ending`` says."""

    protocol_version = "HTTP/1.0"  # no keep-alive: closing the socket ends the response

    def do_POST(self) -> None:  # the name http.server dispatches POST requests to
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for _ in range(2):
            self._event({"text": " word", "finish_reason": None})
        ending = self.server.ending  # type: ignore[attr-defined]
        if ending == "finish":
            self._event({"text": " end", "finish_reason": "length"})
            self.wfile.write(b"data: [DONE]\n\n")
        elif ending == "silent":
            time.sleep(2.0)  # longer than the client's patience, the line still open
        self.wfile.flush()  # "hang up": return, and the server closes the socket

    def _event(self, choice: dict) -> None:
        chunk = {
            "id": "cmpl-1",
            "object": "text_completion",
            "created": 0,
            "model": "stand-in",
            "choices": [{"index": 0, "logprobs": None, **choice}],
        }
        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.flush()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    served = ThreadingHTTPServer(("127.0.0.1", 0), _Streaming)
    served.daemon_threads = True
    thread = threading.Thread(target=served.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield served
    served.shutdown()
    served.server_close()


def _answer(server: ThreadingHTTPServer, ending: str) -> InFlight:
    server.ending = ending  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{server.server_address[1]}"
    request = InFlight(url, "stand-in", TOKENS, silence=0.5)
    assert request.answering(5.0)
    assert request.join(10.0), "the stream never ended"
    return request


def test_an_answer_that_ends_with_its_finish_reason_is_finished(server) -> None:
    request = _answer(server, "finish")
    assert request.finished and request.error is None
    assert len(request.arrivals) == 3


def test_a_stream_ended_mid_answer_is_a_cut_off_with_its_cause(server) -> None:
    request = _answer(server, "hang up")
    assert not request.finished
    assert request.error == "the stream ended without a finish reason"
    assert len(request.arrivals) == 2


def test_a_silent_server_is_given_up_on(server) -> None:
    request = _answer(server, "silent")
    assert not request.finished
    assert request.error == "nothing more for 0.5 s: given up"
