"""Benchmark the local runtime: apply -> Ready, first completion, tokens/s, memory.

    python benchmarks/runtime.py [--runs 2]

Each run deletes the vLLM pod, applies manifests/overlays/local, waits for Ready and asks
the blog's question. The first run after installing the runtime reads everything from
disk (cold); later runs find it in the page cache (warm). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import time
from datetime import date
from pathlib import Path

from lightkube.core.exceptions import ApiError
from lightkube.resources.apps_v1 import Deployment

from tutorial_lib import completions, kube, wait
from tutorial_lib.local import cluster
from tutorial_lib.portforward import PortForward

OVERLAY = Path(__file__).resolve().parent.parent / "manifests" / "overlays" / "local"
QUESTION = "What is Kubernetes? Answer in one sentence."


def remove_vllm(connection: kube.Cluster) -> None:
    """Delete the Deployment and wait until its pods are gone, so each run starts cold."""
    with contextlib.suppress(ApiError):
        connection.client.delete(Deployment, "vllm", namespace="ml-models")
    while kube.pods(connection, "ml-models", {"app": "vllm"}):
        time.sleep(0.5)


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


def one_run(connection: kube.Cluster) -> dict[str, float]:
    remove_vllm(connection)
    started = time.monotonic()
    kube.apply(connection, OVERLAY)
    pod = wait.wait_ready(connection, timeout=600)
    ready = time.monotonic() - started
    with PortForward(connection.kubectl, "svc/vllm-service", 8000) as tunnel:
        first = completions.chat(tunnel.url, QUESTION, max_tokens=60, temperature=0.0)
        first_answer = time.monotonic() - started
        longer = completions.complete(tunnel.url, "Kubernetes is", max_tokens=128, temperature=0.0)
    return {
        "ready": ready,
        "first_answer": first_answer,
        "ttft": first.time_to_first_token,
        "tokens_per_s": longer.tokens_per_second,
        "rss": resident_mib(pod.metadata.uid),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    connection = kube.connect(local=True)
    runs = [one_run(connection) for _ in range(args.runs)]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}"
    print(f"\n### Local runtime, {date.today()} ({machine})\n")
    print(
        "| run | apply -> Ready | apply -> first answer | time to first token | "
        "tokens/s (128 tokens) | resident memory of vLLM |\n|---|---|---|---|---|---|"
    )
    for i, run in enumerate(runs, 1):
        label = "1 (first after `up`)" if i == 1 else str(i)
        print(
            f"| {label} | {run['ready']:.1f} s | {run['first_answer']:.1f} s | "
            f"{run['ttft']:.2f} s | {run['tokens_per_s']:.1f} | {run['rss']:.0f} MiB |"
        )


if __name__ == "__main__":
    main()
