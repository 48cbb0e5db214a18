"""``make test``: every tier in turn, each timed, and a table of what it cost at the end.

    python3 scripts/suite.py --venv .venv     what ``make test`` (and so CI) runs

The budget is a design constraint (docs/decisions.md, *The suite's budget*): from a fresh
clone on 2 cores, at most 45 minutes with every cache empty and 25 with warm caches; CI's
hard limit is 90. Each tier is one ``make`` target, so a contributor can run any of them
alone. The suite stops at the first tier that fails and still prints the table, so a red
run says where the time went too.

The local cluster is the suite's own: it is started afresh before the first tier that uses
it (its runtime bridge then logs every vLLM start to a file this script reads, the count in
the table) and stopped at the end unless it was running before. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET = "at most 45 min from a fresh clone with empty caches, 25 min warm, on 2 cores"
#: pytest's closing line ("== 12 passed, 1 skipped in 3.21s ==") without the time.
PYTEST_SUMMARY = re.compile(r"^=+ (.*?) in [\d.]+s(?: \([\d:]+\))? =+$", re.M)
#: Where the runtime bridge appends a line per vLLM start (tutorial_lib/local/bridge.py).
STARTS_LOG = "VLLM_TUTORIAL_STARTS_LOG"


@dataclass(frozen=True)
class Tier:
    """A row of the table: one make target."""

    name: str
    target: str  # the make target that runs it
    uses_cluster: bool = False


TIERS = [
    Tier("the notebook venv", "setup"),
    Tier("lint, layer contracts, unit tests", "check"),
    Tier("unit tests under the other Pythons", "test-pythons"),
    Tier("cluster binaries, vLLM runtime, model", "prepare"),
    Tier("Chromium for the browser tier", "browser"),
    Tier("tools and install", "test-tools"),
    Tier("local cluster and notebooks", "test-cluster", uses_cluster=True),
    Tier("browser", "test-browser", uses_cluster=True),
]


@dataclass
class Result:
    """What one tier cost and how it ended."""

    tier: Tier
    seconds: float
    returncode: int
    summary: str
    vllm_starts: int


def run_tier(tier: Tier, starts: Path) -> Result:
    """Run one tier's make target, its output streamed as it comes, and time it."""
    print(f"\n=== {tier.name} (make {tier.target})", flush=True)
    before = count_lines(starts)
    started = time.monotonic()
    proc = subprocess.Popen(
        ["make", "--no-print-directory", tier.target],  # the Makefile of the current folder
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    seen = bytearray()
    while chunk := proc.stdout.read1(65536):
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        seen += chunk
    returncode = proc.wait()
    summaries = PYTEST_SUMMARY.findall(seen.decode(errors="replace"))
    summary = "; ".join(summaries) if summaries else ("done" if returncode == 0 else "failed")
    seconds = time.monotonic() - started
    return Result(tier, seconds, returncode, summary, count_lines(starts) - before)


def count_lines(path: Path) -> int:
    try:
        return len(path.read_text().splitlines())
    except FileNotFoundError:
        return 0


def local(python: Path, command: str) -> None:
    """``python -m tutorial_lib.local COMMAND`` in the project's venv."""
    subprocess.run([python, "-m", "tutorial_lib.local", command], cwd=ROOT, check=True)


def cluster_running(python: Path) -> bool:
    probe = "from tutorial_lib.local import cluster; print(cluster.status().healthy)"
    out = subprocess.run([python, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() == "True"


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
    for tier in TIERS[len(results) :]:
        print(f"| {tier.name} | {tier.target} | not run | | |")
    starts = sum(r.vllm_starts for r in results)
    print(f"| **total** | | | **{minutes(total)}** | **{starts}** |")
    print(f"\nBudget: {BUDGET} (CI's hard limit: 90 min).")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv", help="the notebook venv")
    python = parser.parse_args().venv.absolute() / "bin" / "python"
    started = time.monotonic()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="vllm-tutorial-suite-") as scratch:
        starts = Path(scratch) / "vllm-starts.log"
        os.environ[STARTS_LOG] = str(starts)  # every daemon started from here on inherits it
        was_running = cluster_started = False
        try:
            for tier in TIERS:
                if tier.uses_cluster and not cluster_started:
                    # Afresh: a runtime bridge from before this run would count nothing.
                    was_running = cluster_running(python)
                    local(python, "down")
                    local(python, "up")
                    cluster_started = True
                results.append(run_tier(tier, starts))
                if results[-1].returncode != 0:
                    break
        except subprocess.CalledProcessError as failed:
            print(f"\nThe local cluster could not be restarted for the suite: {failed}")
        finally:
            if cluster_started and not was_running:
                local(python, "down")
            report(results, time.monotonic() - started)
    passed = len(results) == len(TIERS) and all(r.returncode == 0 for r in results)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
