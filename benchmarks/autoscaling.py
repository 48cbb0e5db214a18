"""The local GPU node group's scale to zero and back, as notebook 07 runs it, N times.

    python benchmarks/autoscaling.py [--rounds 2]

Each round: the tutorial's vLLM serving; scale to zero, wait until Karpenter has removed the
empty node (seconds after the pod is gone, against the NodePool's consolidateAfter); scale
to one, wait until Ready and the first answer; the phases of that from the API's timestamps
(``tl.nodegroup.timeline``). Prints Markdown tables for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import report

import tutorial_lib as tl


def one_round(cluster: tl.Connection) -> tuple[float, dict[str, float]]:
    node = tl.ensure_serving(cluster, timeout=600).node
    tl.scale(cluster, 0)
    tl.wait_gone(cluster)
    emptied = time.monotonic()
    tl.wait_node_gone(cluster, node)
    removal = time.monotonic() - emptied
    asked = datetime.now(UTC)
    tl.scale(cluster, 1)
    back = tl.wait_ready(cluster, timeout=600)
    with tl.port_forward(cluster) as tunnel:
        tl.complete(tunnel.url, "Kubernetes is", max_tokens=8)
    answered = datetime.now(UTC)
    phases = tl.nodegroup.timeline(cluster, back, answered, since=asked)
    return removal, dict(zip(phases["phase"], phases["seconds"], strict=True))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    cluster = tl.connect(local=True)
    delay = tl.node_group(cluster).set_index("NodePool").loc["gpu-vllm", "scale down"]
    rounds = [one_round(cluster) for _ in range(args.rounds)]
    report.heading("Scale to zero and back (Karpenter, local cluster)", f"NodePool: {delay}")
    report.table(
        ["round", "node removed, s after its last pod went"],
        [[n + 1, f"{removal:.0f}"] for n, (removal, _) in enumerate(rounds)],
    )
    print()
    names = list(rounds[0][1])
    report.table(
        ["phase", *(f"round {n + 1}: s after replicas: 1" for n in range(len(rounds)))],
        [
            [name, *(f"{phases.get(name, float('nan')):.1f}" for _, phases in rounds)]
            for name in names
        ],
    )


if __name__ == "__main__":
    main()
