"""Time the fast test tier as a reader without Go would run it: ``pytest tests/unit``.

    python benchmarks/unit_tier.py [--runs 3]

The unit tier's promise is under a minute with no Go toolchain on PATH; this measures it
(PATH reduced to the venv and the system's bin folders, so ``go`` is not found). Prints a
Markdown table for docs/benchmarks.md.
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
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def without_go() -> dict[str, str]:
    path = os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"])
    env = os.environ | {"PATH": path}
    if shutil.which("go", path=path):
        raise SystemExit(f"go is still on {path}: the measurement would not be what it claims")
    return env


def one_run(env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "pytest", "tests/unit", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = without_go()
    times = [one_run(env) for _ in range(args.runs)]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}"
    print(f"\n### Unit tier, {date.today()} ({machine}, Python {platform.python_version()})\n")
    print("| runs | median | slowest |\n|---|---|---|")
    print(f"| {len(times)} | {statistics.median(times):.1f} s | {max(times):.1f} s |")


if __name__ == "__main__":
    main()
