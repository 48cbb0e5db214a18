"""What a workshop on one shared local cluster costs: time to serve N attendees, memory each.

    python benchmarks/workshop.py [--attendees 2]

Makes N rooms with the instructor's tool (a GPU node each), starts the tutorial's vLLM in
every room at once (``tl.ensure_serving``, one thread per attendee, as N notebooks would),
then reads the resident memory of each vLLM process the runtime bridge runs. The rooms are
deleted afterwards. Prints a Markdown table for docs/benchmarks.md and docs/instructors.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import time

import psutil
import report

import tutorial_lib as tl
from tutorial_lib.local import cluster
from tutorial_lib.workshop import rooms

GIB = 2**30


def vllm_processes() -> list[psutil.Process]:
    """The local cluster's pod processes: one vLLM each (VLLM_ENABLE_V1_MULTIPROCESSING=0)."""
    return [psutil.Process(pid) for pid in cluster.leftover_pids(containers_only=True)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--attendees", type=int, default=2)
    args = parser.parse_args()
    instructor = tl.connect(local=True)
    names = rooms.attendee_names(args.attendees)
    already = {p.pid for p in vllm_processes()}  # the tutorial's own pod, if it runs
    rooms.create(instructor, names)
    try:
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
            ready = list(pool.map(lambda n: _serve(instructor, n, started), names))
        rooms_vllm = [p for p in vllm_processes() if p.pid not in already]
        memory = sorted(p.memory_info().rss / GIB for p in rooms_vllm)
    finally:
        rooms.delete(instructor)
    if not memory:
        raise SystemExit("No vLLM process of the rooms found: is the runtime bridge running?")
    report.heading("Workshop on one local cluster", f"{args.attendees} attendees at once")
    report.table(
        ["attendees", "all Ready after s", "rooms' vLLM processes", "RSS each GiB (min-max)"],
        [
            [
                args.attendees,
                f"{max(ready):.0f}",
                len(memory),
                f"{memory[0]:.2f}-{memory[-1]:.2f}",
            ]
        ],
    )


def _serve(instructor: tl.Connection, name: str, started: float) -> float:
    tl.ensure_serving(rooms.in_room(instructor, name), timeout=900)
    return time.monotonic() - started


if __name__ == "__main__":
    main()
