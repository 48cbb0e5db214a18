"""The series' LoRA load test, its traffic shape against the local LoRA deployment (issue 30).

    python benchmarks/load.py lora [--time-scale 0.25] [--rate-scale 0.125]

Post 6 (*Load Testing: Realistische Last*) drives its server with
``06-lora-serving/scripts/vllm_load_test.py``: five phases (warm-up, normal, spike, recovery,
cool-down), each at a target rate of new requests with a limit of requests in flight and a
mix of prompt lengths; 70 % of the requests ask the adapter, the rest the base model;
completions at temperature 0.7 with 50, 100 or 150 tokens by prompt kind, and 60 s client
timeouts. Here the same shape, its phases and rates scaled to what two CPU cores sustain,
through the ``openai`` async client and a port-forward. The prompts are the tutorial's own
(Kubernetes questions in the post's three kinds: short, medium, with context).

Like the post's script, a request waits for a free slot under the phase's limit before it is
sent, and its latency counts from the send; the time it waited in the client is reported
apart ("queued"): at a rate the server cannot follow, that is where the overload shows.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

import openai
import pandas as pd

from tutorial_lib.serving.lora import share_holding

#: Each prompt kind's answer length, as the post's script asks for it.
MAX_TOKENS = {"short": 50, "medium": 100, "context": 150}
ADAPTER_SHARE, TIMEOUT_SECONDS, TEMPERATURE = 0.7, 60.0, 0.7
PROMPTS = {
    "short": [
        "What is a Kubernetes Pod?",
        "What does a Service do?",
        "What is a node taint?",
        "What is an init container?",
    ],
    "medium": [
        "Explain the difference between a Deployment's Recreate and RollingUpdate strategies.",
        "How does a readiness probe differ from a liveness probe in Kubernetes?",
        "Why would a GPU node carry a taint, and how does a pod tolerate it?",
        "What does a NetworkPolicy with an empty podSelector select?",
    ],
    "context": [
        "Context: vLLM serves LoRA adapters beside its base model. Each request names the "
        "adapter in its model field, and one batch may mix up to --max-loras adapters.\n\n"
        "Question: How does a client choose an adapter?",
        "Context: An init container runs to its end before the pod's containers start. If it "
        "fails, the pod shows Init:Error and its containers never start.\n\n"
        "Question: What happens to vLLM when the adapter copy fails?",
        "Context: Prometheus scrapes targets every scrape interval and stores one sample per "
        "scrape. An overload shorter than the interval may leave no sample.\n\n"
        "Question: Why can a short overload be missing from Prometheus?",
    ],
}


@dataclass(frozen=True)
class Phase:
    """One phase of the load: how long, how many new requests a second, how many at once."""

    name: str
    seconds: float
    rate: float
    concurrency: int
    mix: Mapping[str, float]

    def scaled(self, time_scale: float, rate_scale: float) -> Phase:
        """Shorter and slower; the limit in flight stays the post's."""
        return replace(self, seconds=self.seconds * time_scale, rate=self.rate * rate_scale)


#: The post's phases (vllm_load_test.py, run_load_test): about 14 minutes in all.
POST_PHASES = (
    Phase("warm-up", 120, 2.0, 3, {"short": 0.7, "medium": 0.3}),
    Phase("normal", 240, 5.0, 8, {"short": 0.5, "medium": 0.3, "context": 0.2}),
    Phase("spike", 180, 12.0, 20, {"short": 0.3, "medium": 0.4, "context": 0.3}),
    Phase("recovery", 180, 5.0, 8, {"short": 0.5, "medium": 0.3, "context": 0.2}),
    Phase("cool-down", 120, 2.0, 3, {"short": 0.8, "medium": 0.2}),
)


async def run_phase(
    client: openai.AsyncOpenAI,
    phase: Phase,
    base: str,
    adapter: str | None,
    rng: random.Random,
) -> list[dict[str, object]]:
    """New requests at ``phase.rate`` for ``phase.seconds``, at most ``concurrency`` in flight."""
    slots = asyncio.Semaphore(phase.concurrency)

    async def one(created: float) -> dict[str, object]:
        async with slots:
            kind = share_holding(phase.mix, rng.random())
            model = adapter if adapter and rng.random() < ADAPTER_SHARE else base
            sent, error, tokens = time.monotonic(), None, 0
            try:
                answer = await asyncio.wait_for(
                    client.completions.create(
                        model=model,
                        prompt=rng.choice(PROMPTS[kind]),
                        max_tokens=MAX_TOKENS[kind],
                        temperature=TEMPERATURE,
                    ),
                    TIMEOUT_SECONDS,
                )
                tokens = answer.usage.completion_tokens if answer.usage else 0
            except (TimeoutError, openai.APIError) as failed:
                error = type(failed).__name__
            done = time.monotonic()
        return {
            "phase": phase.name,
            "model": model,
            "kind": kind,
            "queued": sent - created,
            "latency": done - sent,
            "tokens": tokens,
            "error": error,
        }

    tasks, ends = [], time.monotonic() + phase.seconds
    while time.monotonic() < ends:
        tasks.append(asyncio.create_task(one(time.monotonic())))
        await asyncio.sleep(1 / phase.rate)
    return list(await asyncio.gather(*tasks))


async def run(
    base_url: str, phases: list[Phase], base: str, adapter: str | None, seed: int = 0
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Every phase in order: one request per row, and each phase's wall time.

    Without ``adapter`` every request asks the base model: the same load on a server
    without LoRA, to compare with.

    A phase lasts until its last request is answered: longer than planned when the server
    falls behind.
    """
    client = openai.AsyncOpenAI(
        base_url=base_url.rstrip("/") + "/v1", api_key="not-needed", max_retries=0
    )
    rng, rows, walls = random.Random(seed), [], {}
    for phase in phases:
        started = time.monotonic()
        rows += await run_phase(client, phase, base, adapter, rng)
        walls[phase.name] = time.monotonic() - started
        print(f"{phase.name}: {walls[phase.name]:.0f} s", flush=True)
    await client.close()
    return pd.DataFrame(rows), walls


def by_phase(
    requests: pd.DataFrame, phases: list[Phase], walls: Mapping[str, float], adapter: str | None
) -> pd.DataFrame:
    """Per phase: what was asked for, what came back, and how long it took."""
    rows = []
    for phase in phases:
        sent = requests[requests["phase"] == phase.name]
        ok = sent[sent["error"].isna()]
        wall = walls[phase.name]
        rows.append(
            {
                "phase": phase.name,
                "planned s": round(phase.seconds),
                "took s": round(wall),
                "target req/s": round(phase.rate, 3),
                "in flight at most": phase.concurrency,
                "requests": len(sent),
                "failed": len(sent) - len(ok),
                "to the adapter": f"{(sent['model'] == adapter).mean():.0%}",
                "answered req/s": round(len(ok) / wall, 3),
                "output tokens/s": round(ok["tokens"].sum() / wall, 1),
                "latency p50 s": round(ok["latency"].median(), 2),
                "latency p95 s": round(ok["latency"].quantile(0.95), 2),
                "queued p95 s": round(sent["queued"].quantile(0.95), 2),
            }
        )
    return pd.DataFrame(rows)
