"""Load on the server: many requests at once, to see continuous batching pay off.

One level of a sweep keeps ``concurrency`` requests in flight until ``requests`` have
finished, each a streamed completion of exactly ``output_tokens`` tokens (vLLM's
``ignore_eos``), and measures what a client sees: time to first token, the time between
tokens, end-to-end latency, throughput. The official ``openai`` client's async API sends them;
the sweep runs in a thread of its own, so it works inside Jupyter's running event loop.

vLLM's own tool for the same question: ``vllm bench serve --max-concurrency N``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Iterable
from dataclasses import dataclass

import openai
import pandas as pd

from tutorial_lib.errors import MetricsError
from tutorial_lib.serving import vllm_metrics
from tutorial_lib.serving.completions import served_model, wait_until_serving

PROMPT = "Explain in plain words what a Kubernetes Deployment does."


@dataclass(frozen=True)
class Result:
    """One request as its client saw it; ``error`` when it failed."""

    concurrency: int
    time_to_first_token: float
    end_to_end: float
    output_tokens: int
    error: str | None = None

    @property
    def inter_token(self) -> float | None:
        """The mean time between tokens after the first (vLLM's ITL)."""
        if self.output_tokens < 2:
            return None
        return (self.end_to_end - self.time_to_first_token) / (self.output_tokens - 1)


async def _one(
    client: openai.AsyncOpenAI, model: str, concurrency: int, output_tokens: int, prompt: str
) -> Result:
    started = time.monotonic()
    first: float | None = None
    tokens = 0
    try:
        stream = await client.completions.create(
            model=model,
            prompt=prompt,
            max_tokens=output_tokens,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
            extra_body={"ignore_eos": True},  # vLLM: always exactly max_tokens tokens
        )
        async for chunk in stream:
            if chunk.usage is not None:
                tokens = chunk.usage.completion_tokens
            if first is None and any(choice.text for choice in chunk.choices):
                first = time.monotonic() - started
    except openai.APIError as exc:
        elapsed = time.monotonic() - started
        return Result(concurrency, elapsed, elapsed, 0, f"{type(exc).__name__}: {exc}")
    total = time.monotonic() - started
    return Result(concurrency, first if first is not None else total, total, tokens)


async def _level(
    base_url: str, model: str, concurrency: int, requests: int, output_tokens: int, prompt: str
) -> tuple[list[Result], float]:
    """``requests`` requests, at most ``concurrency`` at a time; their results and wall time."""
    slots = asyncio.Semaphore(concurrency)
    async with openai.AsyncOpenAI(
        base_url=f"{base_url}/v1", api_key="not-needed", timeout=300, max_retries=0
    ) as client:

        async def limited() -> Result:
            async with slots:
                return await _one(client, model, concurrency, output_tokens, prompt)

        started = time.monotonic()
        results = await asyncio.gather(*(limited() for _ in range(requests)))
        return list(results), time.monotonic() - started


def run_level(
    base_url: str,
    concurrency: int,
    *,
    requests: int | None = None,
    output_tokens: int = 32,
    prompt: str = PROMPT,
    model: str | None = None,
) -> tuple[list[Result], float]:
    """One level, from any thread (Jupyter's included): its results and its wall time.

    Without ``model`` it waits for the server and asks it which model it serves.
    """
    if model is None:
        wait_until_serving(base_url)
        model = served_model(base_url)
    count = requests or 2 * concurrency
    work = _level(base_url, model, concurrency, count, output_tokens, prompt)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


def summary(results: list[Result], wall_seconds: float) -> dict[str, float | int]:
    """One row of the sweep's table: what a capacity planner reads."""
    done = [r for r in results if r.error is None]
    frame = pd.DataFrame(
        {
            "ttft": [r.time_to_first_token for r in done],
            "itl": [r.inter_token for r in done],
            "e2e": [r.end_to_end for r in done],
        }
    )
    tokens = sum(r.output_tokens for r in done)
    return {
        "concurrency": results[0].concurrency if results else 0,
        "requests": len(results),
        "errors": len(results) - len(done),
        "output tokens": tokens,
        "requests/s": len(done) / wall_seconds,
        "output tokens/s": tokens / wall_seconds,
        "TTFT p50 s": frame["ttft"].quantile(0.5),
        "TTFT p95 s": frame["ttft"].quantile(0.95),
        "ITL mean s": frame["itl"].mean(),
        "e2e p50 s": frame["e2e"].quantile(0.5),
        "e2e p95 s": frame["e2e"].quantile(0.95),
        "e2e mean s": frame["e2e"].mean(),
        "tokens per step": tokens_per_step(tokens / wall_seconds, frame["itl"].mean()),
    }


def tokens_per_step(output_tokens_per_second: float, mean_itl_seconds: float) -> float:
    """Output tokens per decode step: the batch the server ran, whatever the machine's speed.

    Each decode step yields one token for every request in the batch and takes one ITL, so
    the product counts the requests decoding together. A busier machine slows the steps
    and the throughput alike and leaves it: two load tools measured minutes apart agree on
    it where their throughputs differ by a third (docs/benchmarks.md, Step 12).
    """
    return output_tokens_per_second * mean_itl_seconds


def sweep(
    base_url: str,
    levels: Iterable[int] = (1, 2, 4, 8),
    *,
    requests_per_level: int | None = None,
    output_tokens: int = 32,
    prompt: str = PROMPT,
) -> pd.DataFrame:
    """Each concurrency level in turn; one row each, with the throughput gain over the first.

    kubectl/vLLM equivalent: ``vllm bench serve --max-concurrency N --num-prompts M`` per
    level against the port-forwarded Service.
    """
    wait_until_serving(base_url)
    model = served_model(base_url)  # once, not once per level
    rows = []
    for concurrency in levels:
        results, wall = run_level(
            base_url,
            concurrency,
            requests=requests_per_level,
            output_tokens=output_tokens,
            prompt=prompt,
            model=model,
        )
        rows.append(summary(results, wall))
    table = pd.DataFrame(rows)
    table["gain"] = table["output tokens/s"] / table["output tokens/s"].iloc[0]
    return table


#: What the scheduler shows while a load runs: its queue, the KV cache's fill, evictions.
WATCHED = (
    "vllm:num_requests_running",
    "vllm:num_requests_waiting",
    "vllm:kv_cache_usage_perc",
    "vllm:num_preemptions_total",
)


def watched_level(
    base_url: str,
    concurrency: int,
    *,
    requests: int | None = None,
    output_tokens: int = 32,
    every: float = 0.25,
) -> tuple[dict[str, float | int], pd.DataFrame]:
    """One level while ``/metrics`` is read every ``every`` seconds: its row and the series.

    The series is what Prometheus would scrape, at a finer step: how many requests run and
    wait, how full the KV cache is, and how many were preempted so far.
    """
    samples = []
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        level = pool.submit(
            run_level, base_url, concurrency, requests=requests, output_tokens=output_tokens
        )
        while not level.done():
            try:
                scrape = vllm_metrics.metrics(base_url)
            except MetricsError:  # a scrape that failed under load: take the next
                time.sleep(every)
                continue
            row = {"seconds": time.monotonic() - started}
            row |= {name: vllm_metrics.value(scrape, name) for name in WATCHED}
            samples.append(row)
            time.sleep(every)
        results, wall = level.result()
    return summary(results, wall), pd.DataFrame(samples)
