"""scripts/suite.py, ``make test``: each tier timed, a failure stops the rest, the table stays."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "scripts" / "suite.py"


def test_a_failing_tier_stops_the_suite_and_the_table_says_what_ran(tmp_path):
    (tmp_path / "test_fine.py").write_text("def test_fine():\n    pass\n")
    (tmp_path / "test_broken.py").write_text("def test_broken():\n    assert False\n")
    pytest = f"{sys.executable} -m pytest -p no:randomly -p no:cacheprovider"
    (tmp_path / "Makefile").write_text(
        "setup:\n\t@true\n"
        f"check:\n\t{pytest} test_fine.py\n"
        f"test-pythons:\n\t{pytest} test_fine.py test_broken.py\n"
        "prepare:\n\ttouch prepared\n"
    )
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 1, done.stdout + done.stderr
    rows = {line.split(" | ")[1]: line for line in done.stdout.splitlines() if " | " in line}
    assert "| done |" in rows["setup"]
    assert "| 1 passed |" in rows["check"]
    assert "FAILED (exit 2): 1 failed, 1 passed" in rows["test-pythons"], rows
    assert "| not run |" in rows["prepare"] and "| not run |" in rows["test-browser"]
    assert not (tmp_path / "prepared").exists(), "nothing runs after a failed tier"
    assert "Budget: at most 45 min" in done.stdout
    assert "=== unit tests under the other Pythons (make test-pythons)" in done.stdout
