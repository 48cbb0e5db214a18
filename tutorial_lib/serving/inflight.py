"""One long answer, streamed in the background, to see whether it outlives its server's stop.

The answer is asked for with ``ignore_eos`` (vLLM's extension), so it is exactly
``max_tokens`` long and ends with ``finish_reason == "length"`` only if the server finished
it; each token's arrival is timed, so a caller can count what came after a moment of its
choosing (the server's SIGTERM, as its log tells). A stream that falls silent for
``silence`` seconds is given up: a server that aborted a request (vLLM without
``--shutdown-timeout``) sends nothing more and may keep the connection open. A stream
that ends without a finish reason was cut off too (CI saw one end so, 2026-12-08).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import openai

from tutorial_lib.serving import completions

#: What the stand-in continues; any prompt does, the answer's length is fixed.
PROMPT = "The history of the Roman Empire"


@dataclass
class InFlight:
    """A streamed completion of ``max_tokens`` in a thread of its own, started at once."""

    base_url: str
    model: str
    max_tokens: int
    silence: float = 10.0
    arrivals: list[float] = field(default_factory=list)  # time.monotonic() of each piece
    finish_reason: str | None = None
    error: str | None = None
    _first: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._stream, name="in-flight", daemon=True)
        self._thread.start()

    def _stream(self) -> None:
        api = openai.OpenAI(
            base_url=completions.root_url(self.base_url) + "/v1",
            api_key="not-needed",
            timeout=openai.Timeout(self.silence, connect=10.0),  # read: the longest silence
            max_retries=0,
        )
        try:
            stream = api.completions.create(
                model=self.model,
                prompt=PROMPT,
                max_tokens=self.max_tokens,
                temperature=0.0,
                stream=True,
                extra_body={"ignore_eos": True},
            )
            for chunk in stream:
                for choice in chunk.choices:
                    if choice.text:
                        self.arrivals.append(time.monotonic())
                        self._first.set()
                    self.finish_reason = choice.finish_reason or self.finish_reason
            if self.finish_reason is None:  # the stream ended, the answer did not
                self.error = "the stream ended without a finish reason"
        except openai.APITimeoutError:
            self.error = f"nothing more for {self.silence:g} s: given up"
        except openai.APIError as exc:
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._first.set()

    def answering(self, timeout: float = 120.0) -> bool:
        """Wait until the first token has come (or the stream ended without one)."""
        return self._first.wait(timeout) and bool(self.arrivals)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the stream to end: finished, failed or given up. False if still running."""
        assert self._thread is not None
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def finished(self) -> bool:
        """The server sent the whole answer."""
        return self.finish_reason == "length" and self.error is None

    def after(self, moment: float) -> int:
        """How many pieces arrived after ``moment`` (``time.monotonic()``)."""
        return sum(1 for arrival in self.arrivals if arrival > moment)


def tokens_for(base_url: str, model: str, seconds: float, limit: int) -> int:
    """How many tokens take about ``seconds`` to generate here, at most ``limit``.

    Measured with a short answer first, greedy like the long one.
    """
    probe = completions.complete(base_url, PROMPT, model=model, max_tokens=32, temperature=0.0)
    rate = probe.tokens_per_second or 1.0
    return max(16, min(limit, math.ceil(rate * seconds)))
