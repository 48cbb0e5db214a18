"""scripts/pythons.py: which interpreter ``make setup`` takes, and what it says when none fits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "scripts" / "pythons.py"


def pythons(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, check=False
    )


def fake_python(folder: Path, name: str, minor: int) -> Path:
    """An executable that answers the script's probe as Python 3.<minor> would."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\necho 3 {minor} {path}\n")
    path.chmod(0o755)
    return path


def test_this_interpreter_is_supported_and_listed():
    assert pythons("--check", sys.executable).returncode == 0
    version = "{}.{}".format(*sys.version_info[:2])
    listed = dict(line.split(" ", 1) for line in pythons("--all").stdout.splitlines())
    assert version in listed


def test_newest_supported_interpreter_wins(tmp_path):
    bin_dir = tmp_path / "bin"
    fake_python(bin_dir, "python3.12", 12)
    newest = fake_python(bin_dir, "python3.13", 13)
    fake_python(bin_dir, "python3", 10)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    assert pythons(env=env).stdout.strip() == str(newest)
    assert pythons("--all", env=env).stdout.split() == [
        "3.13",
        str(newest),
        "3.12",
        str(bin_dir / "python3.12"),
    ]


def test_too_old_an_interpreter_is_named_with_the_fix(tmp_path):
    old = fake_python(tmp_path, "python3", 10)
    refused = pythons("--check", str(old))
    assert refused.returncode == 1
    assert "is Python 3.10" in refused.stderr
    assert "3.11, 3.12, 3.13 or 3.14" in refused.stderr
    assert "PYTHON=" in refused.stderr


def test_no_interpreter_at_all_says_what_to_install(tmp_path):
    fake_python(tmp_path / "bin", "python3", 9)
    env = {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path)}
    refused = pythons(env=env)
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert "No supported Python found" in refused.stderr
    assert "pyenv install 3.13" in refused.stderr
