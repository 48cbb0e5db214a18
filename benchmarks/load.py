"""Load on the local cluster's vLLM for docs/benchmarks.md: notebook 09's sweep, post 6's shape.

    python benchmarks/load.py [--levels 1 2 4 8 16 32] [--requests 32]
    python benchmarks/load.py lora [--time-scale 0.25] [--rate-scale 0.125] [--base-only]

The sweep: the tutorial's Deployment, a port-forward to its Service, and ``tl.load.sweep``:
requests and output tokens per second, TTFT, ITL and end-to-end latency per concurrency
level, 32 tokens per answer. ``lora``: the LoRA deployment (notebook 10's adapters, the
local-lora overlay) under the series' load test, its phases scaled (``lora_load.py``); the
tutorial's Deployment is applied again afterwards. Each prints Markdown tables. Run them on
an otherwise idle machine (the local cluster is started when needed): the figures are the
CPU's.
"""

from __future__ import annotations

import argparse
import asyncio

import lora_load
import report

import tutorial_lib as tl

COLUMNS = {
    "concurrency": "{:.0f}",
    "errors": "{:.0f}",
    "requests/s": "{:.2f}",
    "output tokens/s": "{:.0f}",
    "gain": "{:.1f}x",
    "TTFT p50 s": "{:.3f}",
    "TTFT p95 s": "{:.3f}",
    "ITL mean s": "{:.3f}",
    "e2e p50 s": "{:.2f}",
    "e2e p95 s": "{:.2f}",
    "tokens per step": "{:.2f}",
}


def lora(time_scale: float, rate_scale: float, base_only: bool) -> None:
    phases = [phase.scaled(time_scale, rate_scale) for phase in lora_load.POST_PHASES]
    cluster = tl.connect(local=True)
    adapter = None if base_only else "tutorial-qa"
    if adapter:
        tl.publish_adapters(cluster)
        tl.apply(cluster, tl.overlay("local-lora"))
        tl.wait_ready(cluster)
    try:
        with tl.port_forward(cluster) as tunnel:
            base = tl.served_model(tunnel.url)
            before = tl.lora.requests_by_model(tl.logs(cluster, grep="Received request"), base)
            requests, walls = asyncio.run(lora_load.run(tunnel.url, phases, base, adapter))
        logged = tl.lora.requests_by_model(tl.logs(cluster, grep="Received request"), base)
    finally:
        tl.ensure_serving(cluster)  # the tutorial's Deployment, without adapters, again
    table = lora_load.by_phase(requests, phases, walls, adapter)
    report.heading(
        "The series' LoRA load test, scaled",
        f"{base}"
        + (f" and {adapter}" if adapter else ", no LoRA")
        + f", time x{time_scale}, rates x{rate_scale}",
    )
    report.table(table.columns, table.itertuples(index=False))
    counted = tl.lora.logged_since(before, logged)
    print(
        f"\nThe server's request log: {counted.to_dict()}; sent: "
        f"{requests['model'].value_counts().to_dict()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32])
    parser.add_argument("--requests", type=int, default=32, help="requests per level")
    commands = parser.add_subparsers(dest="command")
    shape = commands.add_parser("lora", help="post 6's load test on the LoRA deployment")
    shape.add_argument("--time-scale", type=float, default=0.25, help="of each phase's length")
    shape.add_argument("--rate-scale", type=float, default=0.125, help="of each target rate")
    shape.add_argument(
        "--base-only", action="store_true", help="the same load on the Deployment without LoRA"
    )
    args = parser.parse_args()
    if args.command == "lora":
        lora(args.time_scale, args.rate_scale, args.base_only)
        return
    cluster = tl.connect(local=True)
    tl.ensure_serving(cluster)
    with tl.port_forward(cluster) as tunnel:
        model = tl.served_model(tunnel.url)
        table = tl.load.sweep(tunnel.url, args.levels, requests_per_level=args.requests)
    report.heading("Batching sweep", f"{model}, {args.requests} requests per level, 32 tokens each")
    report.table(
        COLUMNS,
        ([fmt.format(row[name]) for name, fmt in COLUMNS.items()] for _, row in table.iterrows()),
    )


if __name__ == "__main__":
    main()
