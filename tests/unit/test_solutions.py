"""``%%solution`` in a real IPython shell: hidden on Run All, run when asked or under the suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell

import tutorial_lib
from tutorial_lib.api import solutions


@pytest.fixture
def shell(monkeypatch) -> Iterator[InteractiveShell]:
    monkeypatch.delenv(solutions.SOLUTIONS_ENV, raising=False)  # as in a reader's kernel
    shell = InteractiveShell.instance()
    tutorial_lib._in_a_kernel()  # what `import tutorial_lib as tl` does in a kernel
    yield shell
    InteractiveShell.clear_instance()


def test_run_all_shows_that_the_solution_is_hidden_and_runs_none_of_it(shell, capsys):
    result = shell.run_cell("%%solution\nanswer = 42\nprint('the answer')")
    assert result.success
    assert "answer" not in shell.user_ns
    printed = capsys.readouterr().out
    assert solutions.HIDDEN in printed and "the answer" not in printed


def test_show_runs_it_and_displays_its_last_value(shell, capsys):
    shell.run_cell("%%solution show\nanswer = 6 * 7\nanswer")
    assert shell.user_ns["answer"] == 42
    assert "42" in capsys.readouterr().out


def test_the_suite_runs_every_solution(shell, monkeypatch):
    monkeypatch.setenv(solutions.SOLUTIONS_ENV, "run")
    shell.run_cell("%%solution\nanswer = 42")
    assert shell.user_ns["answer"] == 42


def test_a_broken_solution_fails_its_cell(shell, monkeypatch):
    monkeypatch.setenv(solutions.SOLUTIONS_ENV, "run")
    result = shell.run_cell("%%solution\nraise ValueError('the solution is wrong')")
    assert not result.success and isinstance(result.error_in_exec, ValueError)
