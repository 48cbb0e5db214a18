"""The shared command runner: output captured, a hang named, the terminal never read."""

from __future__ import annotations

import sys

import pytest

from tutorial_lib.errors import ToolError, Unreachable
from tutorial_lib.tools import process


def test_output_and_exit_code_are_returned():
    proc = process.run([sys.executable, "-c", "print('out'); raise SystemExit(3)"], timeout=30)
    assert (proc.returncode, proc.stdout) == (3, "out\n")


def test_input_is_passed_and_without_it_stdin_is_empty():
    echo = [sys.executable, "-c", "import sys; print(sys.stdin.read().upper())"]
    assert process.run(echo, input="yaml", timeout=30).stdout == "YAML\n"
    assert process.run(echo, timeout=30).stdout == "\n"


@pytest.mark.timeout(60)
def test_a_hang_becomes_the_named_error_with_the_command_to_try():
    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
    with pytest.raises(ToolError) as hung:
        process.run(sleeper, timeout=1)
    assert hung.value.message.startswith("python") and "within 1 s" in hung.value.message
    assert "time.sleep(30)" in hung.value.hint


def test_the_caller_chooses_the_error_and_its_words():
    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
    with pytest.raises(Unreachable, match="kubectl get did not finish") as hung:
        process.run(sleeper, timeout=1, what="kubectl get", error=Unreachable, hint="ping it")
    assert hung.value.hint == "ping it"
