"""``vllm bench serve``: vLLM's own load generator, its arguments and its result table.

What readers run against their own server; the tutorial runs it next to its own sweep
(``tutorial_lib.serving.load``) so that the two can be compared on the same load.
"""

from __future__ import annotations

import re

#: "Request throughput (req/s):              5.39" → "Request throughput (req/s)": 5.39
_ROW = re.compile(r"^(?P<name>[A-Za-z][^:]*?):\s+(?P<value>-?\d+(?:\.\d+)?)\s*$")


def arguments(
    model: str, *, concurrency: int, num_prompts: int, input_len: int, output_len: int
) -> list[str]:
    """The options after ``vllm bench serve --base-url URL``, for a load the sweep can match.

    Fixed lengths, every answer exactly ``output_len`` tokens (``--ignore-eos``), at most
    ``concurrency`` requests in flight, after ``concurrency`` warm-up requests that are not
    counted: on vLLM 0.26's CPU build the first bench load after a start took 14.5-15.7 s
    for what takes 4.5-5.0 s later (with either release's client; a sweep right after the
    start was not slowed), and vLLM's own ``--num-warmups`` absorbs it (docs/decisions.md).
    """
    return [
        "--backend",
        "vllm",
        "--model",
        model,
        "--dataset-name",
        "random",
        "--random-input-len",
        str(input_len),
        "--random-output-len",
        str(output_len),
        "--ignore-eos",
        "--num-prompts",
        str(num_prompts),
        "--max-concurrency",
        str(concurrency),
        "--num-warmups",
        str(concurrency),
        "--seed",
        "1",
    ]


def parse(output: str) -> dict[str, float]:
    """The "Serving Benchmark Result" table as figures, keyed by vLLM's own row names."""
    table = output.partition("Serving Benchmark Result")[2]
    return {
        match["name"].strip(): float(match["value"])
        for line in table.splitlines()
        if (match := _ROW.match(line.strip()))
    }
