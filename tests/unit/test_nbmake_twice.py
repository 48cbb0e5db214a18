"""nbmake runs a notebook twice in one kernel, and says which run broke."""

from __future__ import annotations

import nbformat
import pytest

from tests.helpers import ROOT, notebooks_in

pytest_plugins = ["pytester"]


def write(pytester: pytest.Pytester, name: str, *sources: str) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, pytester.path / f"{name}.ipynb")


def test_each_notebook_runs_twice_in_one_kernel_and_a_failure_names_its_run(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the plugin lives in this repository's tests/
    write(pytester, "reruns", "import os", "open('runs.txt', 'a').write(f'{os.getpid()}\\n')")
    write(pytester, "once_only", "assert 'made' not in globals(), 'made already'", "made = 1")
    write(pytester, "broken", "raise ValueError('broken from the start')")

    result = pytester.runpytest_subprocess("--nbmake", "-p", "tests.nbmake_twice", "-rA")

    result.assert_outcomes(passed=1, failed=2)
    kernels = (pytester.path / "runs.txt").read_text().split()
    assert len(kernels) == 2 and kernels[0] == kernels[1], "every cell twice, in one kernel"
    result.stdout.fnmatch_lines(["FAILED once_only.ipynb*second run*made already*"])
    result.stdout.fnmatch_lines(["FAILED broken.ipynb*broken from the start*"])
    result.stdout.no_fnmatch_line("FAILED broken.ipynb*second run*")
    assert list(pytester.path.glob(".*.ipynb")) == [], "the doubled copies are removed"
    once = pytester.runpytest_subprocess(
        "--nbmake", "-p", "tests.nbmake_twice", "--nbmake-once", "once_only.ipynb"
    )
    once.assert_outcomes(passed=1)  # what fails only when run again passes when run once


def test_a_solution_runs_in_the_first_run_and_is_hidden_in_the_second(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    write(
        pytester,
        "exercise",
        "import tutorial_lib",
        "%%solution\nopen('solutions.txt', 'a').write('ran\\n')",
    )

    result = pytester.runpytest_subprocess("--nbmake", "-p", "tests.nbmake_twice")

    result.assert_outcomes(passed=1)
    assert (pytester.path / "solutions.txt").read_text() == "ran\n", "once: the first run only"


def test_the_unit_tier_reads_the_notebooks_and_not_a_running_lanes_doubled_copy(tmp_path):
    for name in ("07_cleanup_and_costs.ipynb", ".07_cleanup_and_costs-twice-_9ch056g.ipynb"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in notebooks_in(tmp_path)] == ["07_cleanup_and_costs.ipynb"]
