"""LoRA adapters as vLLM serves them: their matrices, A/B traffic, what the server saw.

An adapter is a pair of thin matrices per adapted weight: ``W' = W + (alpha / r) * B @ A``
with ``A`` of shape ``[r, in]`` and ``B`` of ``[out, r]``, so it stores ``r * (in + out)``
numbers where the weight has ``in * out``. vLLM 0.26 counts requests, tokens and latencies
for the whole server (its ``model_name`` label is the base model's for every request); the
one metric per adapter is ``vllm:lora_requests_info``, which adapters are running or waiting
now. How many requests each adapter served is in the server's request log
(``--enable-log-requests``: one line per request, naming its adapter; no prompt at INFO).
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd

from tutorial_lib.serving import completions, vllm_metrics

WEIGHTS = "adapter_model.safetensors"
#: A request log line of vLLM's (``vllm/entrypoints/serve/utils/request_logger.py``).
_RECEIVED = re.compile(
    r"Received request \S+: .*lora_request: (?:LoRARequest\(lora_name='([^']+)'|None)"
)
_MATRIX = re.compile(r"layers\.(\d+)\..*\.(\w+)\.lora_([AB])\.weight$")


def _header(path: Path) -> dict:
    """A safetensors file's JSON header: each tensor's dtype and shape, and its metadata."""
    with path.open("rb") as data:
        (length,) = struct.unpack("<Q", data.read(8))
        return json.loads(data.read(length))


def adapter_matrices(folder: Path) -> pd.DataFrame:
    """Per adapted weight (``q_proj``, ...): its shape, its layers, and what LoRA stores of it.

    Read from the adapter's file, not its config: what vLLM loads.
    """
    shapes: dict[str, dict[str, list[int]]] = {}
    layers: dict[str, set[int]] = {}
    for name, tensor in _header(folder / WEIGHTS).items():
        found = _MATRIX.search(name)
        if found is None:
            continue
        layer, module, side = found.groups()
        shapes.setdefault(module, {})[side] = tensor["shape"]
        layers.setdefault(module, set()).add(int(layer))
    rows = []
    for module, sides in sorted(shapes.items()):
        rank, inputs = sides["A"]
        outputs = sides["B"][0]
        count = len(layers[module])
        rows.append(
            {
                "weight": module,
                "layers": count,
                "shape (out x in)": f"{outputs} x {inputs}",
                "rank": rank,
                "full weights": outputs * inputs * count,
                "LoRA weights": rank * (inputs + outputs) * count,
            }
        )
    table = pd.DataFrame(rows)
    table["LoRA share"] = (table["LoRA weights"] / table["full weights"]).map("{:.1%}".format)
    return table


def side_by_side(
    base_url: str, questions: Iterable[str], models: Iterable[str], *, max_tokens: int = 32
) -> pd.DataFrame:
    """Each question asked of each model at temperature 0: a row per question.

    The same server, the same request; only its ``model`` field differs.
    """
    names = list(models)
    rows = {
        question: [
            completions.chat(
                base_url, question, model=model, max_tokens=max_tokens, temperature=0.0
            ).text
            for model in names
        ]
        for question in questions
    }
    return pd.DataFrame.from_dict(rows, orient="index", columns=names)


def variant(user: str, split: Mapping[str, float]) -> str:
    """The adapter ``user`` is routed to: the same every time, ``split``'s shares overall.

    A hash of the user, not a coin per request: one user sees one version throughout, as an
    A/B test needs.
    """
    return share_holding(split, int(hashlib.sha256(user.encode()).hexdigest()[:8], 16) / 16**8)


def share_holding(shares: Mapping[str, float], point: float) -> str:
    """The key of ``shares`` whose slice of [0, 1) holds ``point``, slices laid end to end."""
    total = 0.0
    for key, share in shares.items():
        total += share
        if point < total:
            return key
    return list(shares)[-1]


@dataclass(frozen=True)
class Traffic:
    """What an A/B run sent and what the server's adapter gauge showed meanwhile."""

    answers: pd.DataFrame
    #: Each distinct sample of ``vllm:lora_requests_info``: the adapters with requests in
    #: flight, and the server's ``--max-loras``.
    adapters_seen: pd.DataFrame


def ab_traffic(
    base_url: str,
    users: Iterable[str],
    split: Mapping[str, float],
    question: str,
    *,
    concurrency: int = 4,
    max_tokens: int = 24,
) -> Traffic:
    """Each user asks ``question`` once, of the adapter ``variant`` picks; metrics sampled."""
    routed = [(user, variant(user, split)) for user in users]
    done = threading.Event()
    seen: list[dict[str, str]] = []

    def watch() -> None:
        while not done.is_set():
            seen.extend(adapters_in_flight(vllm_metrics.metrics(base_url)))
            time.sleep(0.2)

    def ask(item: tuple[str, str]) -> dict[str, object]:
        user, model = item
        answer = completions.chat(
            base_url, question, model=model, max_tokens=max_tokens, temperature=0.0
        )
        return {"user": user, "model": model, "answer": answer.text}

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        with ThreadPoolExecutor(concurrency) as pool:
            answers = pd.DataFrame(list(pool.map(ask, routed)))
    finally:
        done.set()
        watcher.join()
    seen_table = pd.DataFrame(seen, columns=["adapters in flight", "max_lora"])
    return Traffic(answers, seen_table.drop_duplicates(ignore_index=True))


def adapters_in_flight(table: pd.DataFrame) -> list[dict[str, str]]:
    """``vllm:lora_requests_info``'s labels in a scrape: the adapters with requests in flight.

    vLLM 0.26 writes every adapter with a request in the engine into both its labels,
    ``running_lora_adapters`` and ``waiting_lora_adapters`` (``v1/metrics/stats.py``, with
    each one's count, which the labels leave out): the gauge tells which adapters are busy,
    not how many requests each has.
    """
    rows = table[table["metric"] == "vllm:lora_requests_info"]
    return [
        {
            "adapters in flight": ", ".join(
                sorted(filter(None, labels.get("running_lora_adapters", "").split(",")))
            ),
            "max_lora": labels.get("max_lora", ""),
        }
        for labels in rows["labels"]
    ]


def requests_by_model(lines: Iterable[str], base: str) -> pd.Series:
    """How many requests the server received per model, from its request log's lines."""
    counts: dict[str, int] = {}
    for line in lines:
        found = _RECEIVED.search(line)
        if found is not None:
            model = found.group(1) or base
            counts[model] = counts.get(model, 0) + 1
    return pd.Series(counts, name="requests", dtype=int).sort_index()


def logged_since(before: pd.Series, after: pd.Series) -> pd.Series:
    """The requests per model logged between two counts of ``requests_by_model``."""
    new = after.sub(before, fill_value=0).astype(int)
    return new[new > 0]


def load_at_runtime(base_url: str, name: str, path: str) -> int:
    """Ask vLLM to load an adapter from ``path`` now; the HTTP status it answers.

    200 where ``VLLM_ALLOW_RUNTIME_LORA_UPDATING`` is set: then anyone who reaches the API can
    change what a model name answers. 404 where it is not (the endpoint does not exist).
    """
    endpoint = completions.root_url(base_url) + "/v1/load_lora_adapter"
    return httpx.post(endpoint, json={"lora_name": name, "lora_path": path}, timeout=30).status_code
