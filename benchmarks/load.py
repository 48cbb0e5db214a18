"""The batching sweep of notebook 09, at more levels, for docs/benchmarks.md.

    python benchmarks/load.py [--levels 1 2 4 8 16 32] [--requests 32]

On the local cluster (started when needed): the tutorial's Deployment, a port-forward to its
Service, and ``tl.load.sweep``: requests and output tokens per second, TTFT, ITL and
end-to-end latency per concurrency level, 32 tokens per answer. Prints a Markdown table.
Run it on an otherwise idle machine: the figures are the CPU's.
"""

from __future__ import annotations

import argparse

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32])
    parser.add_argument("--requests", type=int, default=32, help="requests per level")
    args = parser.parse_args()
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
