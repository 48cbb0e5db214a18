"""nbmake runs every notebook twice in a row in one kernel: the proof of a re-run, paid once.

A reader re-runs cells: after an error, after a break, out of curiosity. The second pass
starts from what the first left behind (a scaled Deployment, a deleted namespace, variables
still set), which is exactly what a re-run meets. nbmake executes the notebook with its
code cells appended once more, so one execution proves both that the notebook runs top to
bottom and that it runs again; a failure says which pass broke.

Loaded for every pytest run (``-p tests.nbmake_twice`` in pyproject.toml); it changes only
what ``--nbmake`` collects, and ``--nbmake-once`` runs each notebook once (the workshop
test's attendees run their notebooks once, as a room's first hour does; ``make book``
executes the notebooks it lacks once). Every exercise's
``%%solution`` runs in the first pass (the kernels inherit ``VLLM_TUTORIAL_SOLUTIONS=run``),
so each is proven to work; the second pass is a reader's Run All pressed again, with the
solutions hidden as a reader's are: it proves the notebook and its checks need none of them,
and it does not pay twice for a solution that rolls out a Deployment (notebooks 03 and 08).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Generator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbmake.nb_result import NotebookError, NotebookResult
from nbmake.nb_run import NotebookRun
from nbmake.pytest_items import NotebookFailedException, NotebookFile, NotebookItem

from tutorial_lib.api import solutions

#: The German edition (notebooks/de/).
GERMAN_EDITION = Path(__file__).resolve().parent.parent / "notebooks" / "de"
#: A folder to keep each passing notebook's first pass in, executed: the book's source.
EXECUTED_ENV = "VLLM_TUTORIAL_EXECUTED"
SECOND_PASS = "In the second run in the same kernel (a reader running the notebook again):\n"
#: Between the passes: the solutions hidden again, as a reader's Run All leaves them.
HIDE_SOLUTIONS = f"%env {solutions.SOLUTIONS_ENV}=hidden"


def twice(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook followed by a copy of its code cells, as Run All pressed twice runs it."""
    again = [nbformat.v4.new_code_cell(c.source) for c in notebook.cells if c.cell_type == "code"]
    notebook.cells += [nbformat.v4.new_code_cell(HIDE_SOLUTIONS), *again]
    return notebook


def in_which_pass(error: NotebookError, first_pass_cells: int) -> NotebookError:
    """nbmake's error, with the pass named when the repeated cells failed."""
    if error.failing_cell_index < first_pass_cells:
        return error
    return NotebookError(
        summary=f"second run: {error.summary}",
        trace=SECOND_PASS + error.trace,
        failing_cell_index=max(error.failing_cell_index - first_pass_cells - 1, 0),
    )


class TwiceNotebookItem(NotebookItem):
    """nbmake's item, run twice in a row in one kernel (once with ``--nbmake-once``)."""

    def runtest(self) -> None:
        source = Path(self.config.rootdir) / self.filename
        notebook = nbformat.read(source, as_version=4)
        first_pass_cells = len(notebook.cells)
        option = self.config.option
        run = notebook if option.nbmake_once else twice(notebook)
        # Beside the original: nbmake runs the kernel in the notebook's folder, as Jupyter does.
        with tempfile.NamedTemporaryFile(
            "w", dir=source.parent, prefix=f".{source.stem}-twice-", suffix=".ipynb"
        ) as copy:
            nbformat.write(run, copy)
            copy.flush()
            result = NotebookRun(
                Path(copy.name),
                option.nbmake_timeout,
                verbose=bool(option.verbose),
                kernel=option.nbmake_kernel,
            ).execute()
        first_pass = nbformat.from_dict({**result.nb, "cells": result.nb.cells[:first_pass_cells]})
        if option.overwrite:  # the outputs a reader sees after one Run All
            nbformat.write(first_pass, source)
        if result.error is not None:
            error = in_which_pass(result.error, first_pass_cells)
            raise NotebookFailedException(NotebookResult(nb=result.nb, error=error))
        if folder := os.environ.get(EXECUTED_ENV):  # make book renders these (scripts/book.py)
            Path(folder).mkdir(parents=True, exist_ok=True)
            nbformat.write(first_pass, Path(folder) / source.name)


class TwiceNotebookFile(NotebookFile):
    def collect(self) -> Generator[Any, Any, Any]:
        yield TwiceNotebookItem.from_parent(self, filename=str(self.path))


def pytest_configure(config: pytest.Config) -> None:
    os.environ[solutions.SOLUTIONS_ENV] = "run"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("nbmake").addoption(
        "--nbmake-once", action="store_true", help="run each notebook once, not twice in a row"
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Skip the German edition unless named: its code cells are the English ones, byte for
    byte (scripts/editions.py), so running the English notebooks proves both editions."""
    if collection_path != GERMAN_EDITION:
        return None
    named = (Path(arg.split("::")[0]).resolve() for arg in config.args)
    return not any(path.is_relative_to(GERMAN_EDITION) for path in named) or None


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Generator[Any, Any, Any]:
    collected = yield
    return [
        TwiceNotebookFile.from_parent(parent, path=file_path)
        if type(node) is NotebookFile
        else node
        for node in collected
    ]
