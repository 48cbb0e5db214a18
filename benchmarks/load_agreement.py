"""Do notebook 09's sweep and ``vllm bench serve`` agree, and on what? For docs/benchmarks.md.

    python benchmarks/load_agreement.py [--rounds 3]

On the local cluster (started when needed), each round measures the notebook's load
(concurrency 4, 8 requests of 32 tokens: two rounds) with ``tl.load.sweep`` and then with
``tl.bench_serve``, twice: once on the otherwise idle machine and once with a busy process
on a core during the benchmark only, as a neighbour (another notebook, the suite's other
lane) would be. Prints each tool's requests per second and tokens per decode step, and the
ratios: which figure two tools measured at different moments can be compared on.
"""

from __future__ import annotations

import argparse
import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager

import report

import tutorial_lib as tl

LOAD = {"concurrency": 4, "requests": 8}


def _spin(stop: multiprocessing.synchronize.Event) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


@contextmanager
def neighbour(busy: bool) -> Iterator[None]:
    """A process that keeps one core busy while the block runs, or nothing."""
    if not busy:
        yield
        return
    stop = multiprocessing.Event()
    process = multiprocessing.Process(target=_spin, args=(stop,))
    process.start()
    try:
        yield
    finally:
        stop.set()
        process.join()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cluster = tl.connect(local=True)
    tl.ensure_serving(cluster)
    rows = []
    with tl.port_forward(cluster) as tunnel:
        model = tl.served_model(tunnel.url)
        for number in range(1, args.rounds + 1):
            for busy in (False, True):
                ours = tl.load.sweep(
                    tunnel.url,
                    (LOAD["concurrency"],),
                    requests_per_level=LOAD["requests"],
                    output_tokens=32,
                ).iloc[0]
                with neighbour(busy):
                    official = tl.bench_serve(
                        cluster,
                        tunnel.url,
                        model,
                        concurrency=LOAD["concurrency"],
                        num_prompts=LOAD["requests"],
                    )
                theirs = tl.load.tokens_per_step(
                    official["Output token throughput (tok/s)"], official["Mean ITL (ms)"] / 1000
                )
                requests = official["Request throughput (req/s)"]
                rows.append(
                    [
                        number,
                        "busy" if busy else "idle",
                        f"{ours['requests/s']:.2f}",
                        f"{requests:.2f}",
                        f"{ours['requests/s'] / requests:.2f}",
                        f"{ours['tokens per step']:.2f}",
                        f"{theirs:.2f}",
                        f"{ours['tokens per step'] / theirs:.3f}",
                    ]
                )
    report.heading(
        "The sweep and vllm bench serve on one load",
        f"{model}, concurrency {LOAD['concurrency']}, {LOAD['requests']} requests of 32 tokens",
    )
    report.table(
        [
            "round",
            "a core during the bench",
            "sweep req/s",
            "bench req/s",
            "ratio",
            "sweep tokens/step",
            "bench tokens/step",
            "ratio",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
