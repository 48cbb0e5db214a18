"""scripts/suite.py, ``make test``: each tier timed, a failure stops the rest, the table stays.

Each test runs the script on a Makefile of its own whose targets stand in for the tiers (and
for ``cluster-up``/``cluster-down``: no cluster is touched).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "scripts" / "suite.py"
PYTEST = f"{sys.executable} -m pytest -p no:randomly -p no:cacheprovider"
#: The cluster's targets, as the suite drives them: nothing was running, up and down logged.
CLUSTER = (
    "cluster-status:\n\t@exit 1\n"
    "cluster-up:\n\t@echo up >> cluster.log\n"
    "cluster-down:\n\t@echo down >> cluster.log\n"
)


def suite(folder: Path, makefile: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run the suite in ``folder``; its output and the table's rows by make target."""
    (folder / "test_fine.py").write_text("def test_fine():\n    pass\n")
    (folder / "test_broken.py").write_text("def test_broken():\n    assert False\n")
    (folder / "Makefile").write_text(makefile + CLUSTER)
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], cwd=folder, capture_output=True, text=True, check=False
    )
    rows = {line.split(" | ")[1]: line for line in done.stdout.splitlines() if " | " in line}
    return done, rows


def test_a_failing_tier_stops_the_suite_and_the_table_says_what_ran(tmp_path):
    done, rows = suite(
        tmp_path,
        "setup:\n\t@true\n"
        f"prepare:\n\t{PYTEST} test_fine.py test_broken.py\n"
        "browser:\n\ttouch browser-ready\n",
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "| done |" in rows["setup"]
    assert "FAILED (exit 2): 1 failed, 1 passed" in rows["prepare"], rows
    assert "| not run |" in rows["browser"] and "| not run |" in rows["check"]
    assert not (tmp_path / "browser-ready").exists(), "nothing runs after a failed tier"
    assert not (tmp_path / "cluster.log").exists(), "no cluster for a suite that stopped"
    assert "Budget: at most 45 min" in done.stdout
    assert "=== cluster binaries, vLLM runtime, model (make prepare)" in done.stdout


def _row(rows: dict[str, str], target: str) -> list[str]:
    """A row's cells: name, target, result, wall time, vLLM starts."""
    return [cell.strip() for cell in rows[target].strip("|").split("|")]


def _seconds(wall: str) -> int:
    minutes, seconds = wall.split(":")
    return int(minutes) * 60 + int(seconds)


LANES_AND_TOOLS = (
    "setup prepare browser:\n\t@true\n"
    "test-book:\n\t@[ -f tools-started ] && touch book-after-the-lanes\n"
    f"check:\n\t{PYTEST} test_fine.py\n"
    "test-lanes:\n"
    "\t@nice > lanes.nice\n"
    "\t@echo start >> $$VLLM_TUTORIAL_STARTS_LOG\n"
    # At most 5 minutes: the tools tier's pytest starts slowly at a low priority on a busy
    # machine (beside the suite's own lanes it took over a minute: benchmarks/ci.py, cadc1d0).
    "\t@for i in $$(seq 3000); do [ -f tools-started ] && break; sleep 0.1; done\n"
    "\t@[ -f tools-started ] && sleep 3\n"  # the tools tier has long ended by then
    "test-tools:\n"
    f"\t{PYTEST} test_fine.py\n"
    "\t@echo a >> $$VLLM_TUTORIAL_STARTS_LOG; echo b >> $$VLLM_TUTORIAL_STARTS_LOG\n"
    "\t@touch tools-started\n"  # its last step: the lanes end 3 s after it, however loaded
)


def test_tiers_beside_the_lanes_run_at_the_same_time_each_timed_to_its_own_end(tmp_path):
    """The lanes wait for a file the tools tier writes: run one after the other, they fail."""
    done, rows = suite(
        tmp_path,
        LANES_AND_TOOLS + f"test-pythons:\n\t@nice > pythons.nice\n\t{PYTEST} test_fine.py\n",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lanes, tools = (_row(rows, t) for t in ("test-lanes", "test-tools"))
    assert lanes[2] == "done" and tools[2] == "1 passed", rows
    assert _row(rows, "check")[2] == "1 passed", "lint and the unit tier beside the lanes"
    assert _seconds(tools[3]) < _seconds(lanes[3]), "the tools tier's own end, not the lanes'"
    # The lanes' starts land in the suite's file (a test may restart its cluster), the tools
    # tier's in its own: each counted once, for the tier that caused it.
    assert (lanes[4], tools[4]) == ("1", "2"), rows
    total = next(line for line in done.stdout.splitlines() if line.startswith("| **total**"))
    assert total.endswith("| **3** |"), total
    assert (tmp_path / "cluster.log").read_text().split() == ["down", "up", "down"]
    assert _row(rows, "test-book")[2] == "done", "the book renders the lanes' runs: after them"
    assert (tmp_path / "book-after-the-lanes").exists()
    # Beside the lanes at a lower priority: they take the cores the lanes leave idle.
    niceness = {name: int((tmp_path / f"{name}.nice").read_text()) for name in ("lanes", "pythons")}
    assert niceness["pythons"] == min(niceness["lanes"] + 10, 19), niceness  # nice's ceiling
    beside = done.stdout.index("=== tools and install (make test-tools), beside the tier above")
    assert done.stdout.index("1 passed", beside) > beside, "its output comes after its header"


def test_a_failing_tier_beside_the_lanes_fails_the_suite_once_the_lanes_end(tmp_path):
    done, rows = suite(
        tmp_path, LANES_AND_TOOLS + f"test-pythons:\n\t{PYTEST} test_fine.py test_broken.py\n"
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert _row(rows, "test-lanes")[2] == "done", rows
    assert "FAILED (exit 2): 1 failed, 1 passed" in rows["test-pythons"], rows
