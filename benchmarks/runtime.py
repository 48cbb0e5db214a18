"""Benchmark the local runtime: apply -> Ready, first completion, tokens/s, memory.

    python benchmarks/runtime.py [--runs 2]

Each run deletes the vLLM Deployment, applies the overlay (``local``, or
``VLLM_TUTORIAL_OVERLAY``), waits for Ready, asks for a short sampled completion (temperature
0.7, as the notebooks' answers: the first one of a fresh server is the one that may wait for
torch to compile the sampler), then the blog's question (``tl.ask``: a chat, or a completion
for a base model). The first run after ``up`` may read from disk, later
ones from the page cache. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import report

import tutorial_lib as tl
from tutorial_lib.local import cluster

QUESTION = "What is Kubernetes? Answer in one sentence."


def remove_vllm(connection: tl.Connection) -> None:
    """Delete the Deployment and wait until its pods are gone, so each run starts cold."""
    deployment = tl.manifests.ROOT / "base" / "deployment.yaml"
    tl.delete(connection, deployment)
    tl.wait_gone(connection)


def resident_mib(uid: str) -> float:
    total = 0
    for pid in cluster.leftover_pids(containers_only=True):
        try:
            if uid not in os.readlink(f"/proc/{pid}/cwd"):
                continue
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def one_run(connection: tl.Connection) -> dict[str, float]:
    remove_vllm(connection)
    started = time.monotonic()
    tl.apply(connection, connection.overlay)
    pod = tl.wait_ready(connection, timeout=600)
    ready = time.monotonic() - started
    with tl.port_forward(connection) as tunnel:
        sampled = tl.complete(tunnel.url, "Kubernetes is", max_tokens=8, temperature=0.7)
        first = tl.ask(tunnel.url, QUESTION, max_tokens=60, temperature=0.0)
        first_answer = time.monotonic() - started
        longer = tl.complete(tunnel.url, "Kubernetes is", max_tokens=128, temperature=0.0)
    return {
        "ready": ready,
        "first_answer": first_answer,
        "sampled": sampled.total_seconds,
        "ttft": first.time_to_first_token,
        "tokens_per_s": longer.tokens_per_second,
        "rss": resident_mib(pod.uid),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    connection = tl.connect(local=True)
    runs = [one_run(connection) for _ in range(args.runs)]
    report.heading("Local runtime")
    columns = ["run", "apply -> Ready", "first sampled answer (8 tokens)", "apply -> first answer"]
    columns += ["time to first token"]
    columns += ["tokens/s (128 tokens)", "resident memory of vLLM"]
    report.table(
        columns,
        [
            (
                "1 (first after `up`)" if i == 1 else i,
                f"{run['ready']:.1f} s",
                f"{run['sampled']:.2f} s",
                f"{run['first_answer']:.1f} s",
                f"{run['ttft']:.2f} s",
                f"{run['tokens_per_s']:.1f}",
                f"{run['rss']:.0f} MiB",
            )
            for i, run in enumerate(runs, 1)
        ],
    )


if __name__ == "__main__":
    main()
