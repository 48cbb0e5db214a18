"""Where the lanes' time goes: each item's wall time and the vLLM starts it caused.

    python benchmarks/lane_timeline.py [--lanes 2]    the lanes as ``make test-lanes`` runs them

Runs the lanes' pytest with this file as a plugin: each worker logs its items' start and
end, and its cluster's runtime bridge logs every vLLM start to a file of the worker's own
(so the local cluster is stopped first: each lane creates its cluster, and its bridge
inherits the file). A start belongs to the item that was running in its lane when it
happened. Also samples how busy the cores were. Prints Markdown for docs/benchmarks.md:
each lane's span, then every item that took 15 s or more or started vLLM.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pytest
import report

ROOT = Path(__file__).resolve().parent.parent
FOLDER = "VLLM_TUTORIAL_LANES_TIMELINE"
STARTS_LOG = "VLLM_TUTORIAL_STARTS_LOG"  # tutorial_lib/local/bridge.py
#: What ``make test-lanes`` collects.
TESTED = ("tests/cluster", "notebooks", "tests/browser")
SHOWN = 15.0  # seconds: shorter items without a vLLM start are summed, not listed


# --- the plugin, in each pytest-xdist worker ----------------------------------------------


def _worker(config: pytest.Config) -> str:
    return getattr(config, "workerinput", {}).get("workerid", "gw0")


def pytest_configure(config: pytest.Config) -> None:
    folder = Path(os.environ[FOLDER])
    os.environ[STARTS_LOG] = str(folder / f"starts-{_worker(config)}.log")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    started = time.time()
    try:
        return (yield)
    finally:
        line = {"item": item.nodeid, "start": started, "end": time.time()}
        with open(Path(os.environ[FOLDER]) / f"items-{_worker(item.config)}.jsonl", "a") as out:
            out.write(json.dumps(line) + "\n")


# --- the measurement ----------------------------------------------------------------------


def starts_of(path: Path) -> list[float]:
    if not path.exists():
        return []
    return [datetime.fromisoformat(line.split()[0]).timestamp() for line in path.open()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lanes", type=int, default=2)
    args = parser.parse_args()
    python = ROOT / ".venv" / "bin" / "python"
    subprocess.run([python, "-m", "tutorial_lib.local", "down"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory(prefix="lanes-timeline-") as scratch:
        folder = Path(scratch)
        env = os.environ | {FOLDER: scratch, "PYTHONPATH": str(Path(__file__).parent)}
        began = time.monotonic()
        lanes = ["-n", str(args.lanes), "--dist", "worksteal"]
        with report.BusyCores(period=5) as busy:
            proc = subprocess.run(
                [python, "-m", "pytest", "-p", "lane_timeline", *lanes, *TESTED],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
        wall = time.monotonic() - began
        summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr
        print(f"\n{summary}\nwall {wall / 60:.1f} min, cores busy {busy.mean():.0%}")
        for log in sorted(folder.glob("items-*.jsonl")):
            worker = log.stem.removeprefix("items-")
            items = [json.loads(line) for line in log.open()]
            starts = starts_of(folder / f"starts-{worker}.log")
            span = max(i["end"] for i in items) - min(i["start"] for i in items)
            print(f"\n{worker}: {len(items)} items, {len(starts)} vLLM starts, {span:.0f} s\n")
            print("| item | s | vLLM starts |\n|---|---|---|")
            rest = 0.0
            for item in items:
                seconds = item["end"] - item["start"]
                caused = sum(item["start"] <= s <= item["end"] for s in starts)
                if seconds >= SHOWN or caused:
                    print(f"| `{item['item'].split('/')[-1]}` | {seconds:.0f} | {caused} |")
                else:
                    rest += seconds
            print(f"| the other items | {rest:.0f} | 0 |")
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
