"""Benchmark the local cluster: cold binary acquisition, warm up, no-op up, down, memory.

    python benchmarks/local_cluster.py          # warm figures (uses the binary cache)
    python benchmarks/local_cluster.py --cold   # also a cold build in empty Go and tool caches

Prints a Markdown table for docs/benchmarks.md. Leaves no cluster running unless one was.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import report

from tutorial_lib.local import cluster


def timed(action) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def resident_mib() -> float:
    total_kib = 0
    for component in cluster.components():
        status = Path(f"/proc/{component.pid}/status")
        if component.pid and status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
    return total_kib / 1024


def _kill_and_repair() -> None:
    """What ``up`` does after a crash: the API server killed, every component restarted."""
    pid = next(c.pid for c in cluster.components() if c.name == "kube-apiserver")
    os.kill(pid, signal.SIGKILL)
    while cluster.status().api_ready:
        time.sleep(0.1)
    cluster.up()


def cold_acquisition() -> float:
    """The cluster's binaries from scratch: empty tool, Go module and Go build caches."""
    with tempfile.TemporaryDirectory() as scratch:
        env = os.environ | {
            "VLLM_TUTORIAL_CACHE": f"{scratch}/cache",
            "GOMODCACHE": f"{scratch}/gomod",
            "GOCACHE": f"{scratch}/gobuild",
            "VLLM_TUTORIAL_OFFLINE": "1",
        }
        started = time.monotonic()
        build = "from tutorial_lib.local import binaries; binaries.ensure()"
        subprocess.run([sys.executable, "-c", build], env=env, check=True)
        elapsed = time.monotonic() - started
        subprocess.run(["chmod", "-R", "u+w", scratch], check=False)  # Go's read-only modcache
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", action="store_true", help="also time a cold build")
    args = parser.parse_args()
    was_running = cluster.status().healthy
    rows = []
    if args.cold:
        rows.append(
            (
                "cold build of etcd, the control plane, kwok, kwokctl and Prometheus "
                "from the Go module proxy, empty caches",
                f"{cold_acquisition():.0f} s",
            )
        )
    if was_running:
        cluster.down(quiet=True)
    rows.append(("`up`, binaries cached, no cluster", f"{timed(cluster.up):.1f} s"))
    rows.append(("`up` again on a healthy cluster", f"{timed(cluster.up):.2f} s"))
    rows.append(("`up` after the API server was killed", f"{timed(_kill_and_repair):.1f} s"))
    rows.append(
        ("resident memory of the control plane, kwok and the daemons", f"{resident_mib():.0f} MiB")
    )
    rows.append(("`down`", f"{timed(cluster.down):.1f} s"))
    if was_running:
        cluster.up()
    report.heading("Local cluster")
    report.table(["measurement", "result"], rows)


if __name__ == "__main__":
    main()
