"""Every notebook runs twice in a row in the same kernel and passes its checks both times.

A reader re-runs cells: after a restart of the lesson, after an error, out of curiosity. The
second pass starts from what the first left behind (a scaled Deployment, a deleted
namespace, variables still set), which is exactly what a re-run meets.
"""

from __future__ import annotations

import nbformat
import pytest

from tests.cluster.conftest import NOTEBOOKS, execute

NOTEBOOK_PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda p: p.stem)
def test_a_notebook_passes_when_run_twice_in_one_kernel(connection, path):
    notebook = nbformat.read(path, as_version=4)
    again = [nbformat.v4.new_code_cell(c.source) for c in notebook.cells if c.cell_type == "code"]
    notebook.cells += again
    execute(notebook)
