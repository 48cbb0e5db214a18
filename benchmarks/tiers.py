"""Time a test tier as ``make test`` runs it: ``pytest tests/<tier>``.

    python benchmarks/tiers.py unit [--runs 3]
    python benchmarks/tiers.py browser [--runs 1]     # needs the local cluster and Chromium

The unit tier's promise is under a minute with no Go toolchain on PATH, so it runs with PATH
reduced to the venv and the system's bin folders (``go`` is not found). Prints a Markdown
table for docs/benchmarks.md, with the number of tests that passed.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import report

ROOT = Path(__file__).resolve().parent.parent


def without_go() -> dict[str, str]:
    path = os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"])
    env = os.environ | {"PATH": path}
    if shutil.which("go", path=path):
        raise SystemExit(f"go is still on {path}: the measurement would not be what it claims")
    return env


def one_run(tier: str, env: dict[str, str]) -> tuple[float, str]:
    """Seconds and pytest's summary line (``N passed in …``)."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", f"tests/{tier}", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    summary = next(line for line in reversed(proc.stdout.splitlines()) if " passed" in line)
    return time.monotonic() - started, summary.split(" in ")[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tier", choices=["unit", "tools", "browser"])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = without_go() if args.tier == "unit" else dict(os.environ)
    runs = [one_run(args.tier, env) for _ in range(args.runs)]
    times = [seconds for seconds, _ in runs]
    report.heading(f"{args.tier} tier", f"Python {platform.python_version()}")
    median, slowest = f"{statistics.median(times):.1f} s", f"{max(times):.1f} s"
    report.table(
        ["runs", "tests", "median", "slowest"], [(len(times), runs[0][1], median, slowest)]
    )


if __name__ == "__main__":
    main()
