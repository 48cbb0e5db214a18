"""``make test``: every tier in turn, each timed, and a table of what it cost at the end.

    python3 scripts/suite.py     what ``make test`` (and so CI) runs

The budget is a design constraint (docs/decisions.md, *The suite's budget*): from a fresh
clone on 2 cores, at most 45 minutes with every cache empty and 25 with warm caches; CI's
hard limit is 90. Each tier is one ``make`` target, so a contributor can run any of them
alone. The tiers that need no local cluster of the suite's (lint and the unit tier, the
unit tier under the oldest Python, the tools) run beside the cluster's lanes, at a lower
priority, on the cores the lanes leave idle: the lanes are the serial path. The suite
stops after the first stage in which a tier fails and still prints the table, so a red run
says where the time went too.

The local cluster is the suite's own: it is started afresh before the first tier that uses
it and stopped at the end unless it was running before. The runtime bridges log every vLLM
start to files this script reads (``Starts``): the count in the table. Standard library
only.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

BUDGET = "at most 45 min from a fresh clone with empty caches, 25 min warm, on 2 cores"
#: pytest's closing line ("== 12 passed, 1 skipped in 3.21s ==") without the time.
PYTEST_SUMMARY = re.compile(r"^=+ (.*?) in [\d.]+s(?: \([\d:]+\))? =+$", re.M)
#: Where the runtime bridge appends a line per vLLM start (tutorial_lib/local/bridge.py).
STARTS_LOG = "VLLM_TUTORIAL_STARTS_LOG"
#: ``off`` keeps the local cluster's GPU node simulated (tutorial_lib/local/gpus.py).
GPU_SWITCH = "VLLM_TUTORIAL_GPU"
#: How much lower a tier beside another runs (``nice``): the tier it runs beside is the
#: suite's serial path, and two cores shared equally slowed its vLLM starts.
BESIDE_NICENESS = 10


@dataclass(frozen=True)
class Tier:
    """A row of the table: one make target."""

    name: str
    target: str  # the make target that runs it
    uses_cluster: bool = False
    #: Tiers run at the same time, on the cores this one leaves idle (at a lower priority):
    #: the cluster's lanes mostly wait (vLLM starting, a probe's period, Karpenter's
    #: minute), the unit tier and the tools tier need none of the local cluster. Their
    #: output is shown when they end.
    beside: tuple[Tier, ...] = ()


TIERS = [
    Tier("the notebook venv", "setup"),
    Tier("cluster binaries, vLLM runtime, model", "prepare"),
    Tier("Chromium for the browser tier", "browser"),
    Tier(
        "local cluster, notebooks and browser, in lanes",
        "test-lanes",
        uses_cluster=True,
        beside=(
            Tier("lint, layer contracts, unit tests", "check"),
            Tier("unit tests under the oldest Python", "test-pythons"),
            Tier("tools and install", "test-tools"),
        ),
    ),
    # From the lanes' runs of the notebooks (build/executed): nothing is executed again.
    Tier("the book, both editions, read in Chromium", "test-book"),
]
ROWS = [row for tier in TIERS for row in (tier, *tier.beside)]


@dataclass
class Result:
    """What one tier cost and how it ended."""

    tier: Tier
    seconds: float
    returncode: int
    summary: str
    vllm_starts: int


class Starts:
    """The vLLM starts of each tier, from the runtime bridges' logs.

    The clusters of the tiers that run one after the other log to one file, the suite's
    (a bridge inherits the variable when it starts, and a test may restart the suite's
    cluster: its new bridge must still log there); a tier counts what that file gained
    while it ran. A tier beside them logs the clusters it starts itself (the bundle
    rehearsal's) to a file of its own, so tiers that run at once are told apart.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.shared = folder / "vllm-starts.log"

    def own(self, tier: Tier) -> Path:
        return self.folder / f"{tier.target}.log"

    def environment(self, tier: Tier, *, beside: bool) -> dict[str, str]:
        return os.environ | {STARTS_LOG: str(self.own(tier) if beside else self.shared)}


def run_tier(tier: Tier, starts: Starts) -> list[Result]:
    """One tier's make target, its output streamed as it comes, timed.

    The tiers beside it run at the same time, each timed to its own end; the tier's result
    comes first.
    """
    print(f"\n=== {tier.name} (make {tier.target})", flush=True)
    beside = [_Beside(other, starts) for other in tier.beside]
    before = count_lines(starts.shared)
    started = time.monotonic()
    proc = _make(tier, starts.environment(tier, beside=False), stdout=subprocess.PIPE)
    assert proc.stdout is not None
    seen = bytearray()
    while chunk := proc.stdout.read1(65536):
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        seen += chunk
    returncode = proc.wait()
    vllm_starts = count_lines(starts.shared) - before
    main = _result(tier, time.monotonic() - started, returncode, seen, vllm_starts)
    return [main, *(other.result() for other in beside)]


class _Beside:
    """A tier running beside another: its output to a file, printed once it has ended."""

    def __init__(self, tier: Tier, starts: Starts) -> None:
        self.tier, self.starts = tier, starts
        self.output = starts.folder / f"{tier.target}.out"
        started = time.monotonic()
        with self.output.open("wb") as out:  # the child keeps its own descriptor
            env = starts.environment(tier, beside=True)
            proc = _make(tier, env, stdout=out, niceness=BESIDE_NICENESS)
        self.ended = threading.Thread(target=self._time, args=(proc, started), daemon=True)
        self.ended.start()
        print(f"(and beside it: {tier.name}, make {tier.target})", flush=True)

    def _time(self, proc: subprocess.Popen[bytes], started: float) -> None:
        self.returncode = proc.wait()
        self.seconds = time.monotonic() - started

    def result(self) -> Result:
        self.ended.join()
        seen = self.output.read_bytes()
        print(f"\n=== {self.tier.name} (make {self.tier.target}), beside the tier above")
        sys.stdout.buffer.write(seen)
        sys.stdout.buffer.flush()
        starts = count_lines(self.starts.own(self.tier))
        return _result(self.tier, self.seconds, self.returncode, seen, starts)


def _make(
    tier: Tier, env: dict[str, str], stdout: int | IO[bytes], niceness: int = 0
) -> subprocess.Popen[bytes]:
    lower = ["nice", "-n", str(niceness)] if niceness else []
    return subprocess.Popen(
        [*lower, "make", "--no-print-directory", tier.target],  # the current folder's Makefile
        stdout=stdout,
        stderr=subprocess.STDOUT,
        env=env,
    )


def _result(tier: Tier, seconds: float, returncode: int, seen: bytes, vllm_starts: int) -> Result:
    summaries = PYTEST_SUMMARY.findall(seen.decode(errors="replace"))
    summary = "; ".join(summaries) if summaries else ("done" if returncode == 0 else "failed")
    return Result(tier, seconds, returncode, summary, vllm_starts)


def count_lines(path: Path) -> int:
    try:
        return len(path.read_text().splitlines())
    except FileNotFoundError:
        return 0


def make(target: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    """A target of the Makefile of the current folder, as a contributor would run it."""
    return subprocess.run(["make", "--no-print-directory", target], check=False, **kwargs)


def restart_cluster() -> bool:
    """Start the suite's cluster afresh and say whether one was running.

    Afresh: a runtime bridge started before the suite would log no vLLM start.
    """
    was_running = make("cluster-status", capture_output=True).returncode == 0
    for target in ("cluster-down", "cluster-up"):
        if make(target).returncode != 0:
            raise subprocess.CalledProcessError(1, f"make {target}")
    return was_running


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def report(results: list[Result], total: float) -> None:
    print("\n## The suite's cost\n")
    print("| tier | make target | result | wall time (m:ss) | vLLM starts |")
    print("|---|---|---|---|---|")
    for r in results:
        status = r.summary if r.returncode == 0 else f"FAILED (exit {r.returncode}): {r.summary}"
        print(
            f"| {r.tier.name} | {r.tier.target} | {status} | {minutes(r.seconds)} | "
            f"{r.vllm_starts} |"
        )
    ran = {r.tier for r in results}
    for tier in ROWS:
        if tier not in ran:
            print(f"| {tier.name} | {tier.target} | not run | | |")
    starts = sum(r.vllm_starts for r in results)
    print(f"| **total** | | | **{minutes(total)}** | **{starts}** |")
    print(f"\nBudget: {BUDGET} (CI's hard limit: 90 min).")


def main() -> int:
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args()
    started = time.monotonic()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="vllm-tutorial-suite-") as scratch:
        starts = Starts(Path(scratch))
        # The suite's cluster, started below, logs here: its bridge inherits the variable.
        os.environ[STARTS_LOG] = str(starts.shared)
        # The CPU stand-in everywhere, also on a machine with a GPU: what CI proves
        # (`make test-gpu` is the GPU's tier, tutorial_lib/local/gpus.py).
        os.environ[GPU_SWITCH] = "off"
        was_running = cluster_started = False
        try:
            for tier in TIERS:
                if tier.uses_cluster and not cluster_started:
                    was_running = restart_cluster()
                    cluster_started = True
                stage = run_tier(tier, starts)
                results += stage
                if any(r.returncode != 0 for r in stage):
                    break
        except subprocess.CalledProcessError as failed:
            print(f"\nThe local cluster could not be restarted for the suite: {failed}")
        finally:
            if cluster_started and not was_running:
                make("cluster-down")
            report(results, time.monotonic() - started)
    passed = len(results) == len(ROWS) and all(r.returncode == 0 for r in results)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
