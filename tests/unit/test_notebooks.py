"""The committed notebooks: no outputs, a timeout each, and checks at the end."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_the_eight_notebooks_of_the_tutorial_path_are_there():
    assert [n.name[:2] for n in NOTEBOOKS] == [f"{i:02d}" for i in range(8)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs_or_execution_counts(path):
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {index} has outputs"
            assert cell.execution_count is None, f"cell {index} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_has_a_cell_timeout_and_ends_in_checks(path):
    notebook = nbformat.read(path, as_version=4)
    assert notebook.metadata["execution"]["timeout"] > 0  # nbmake's per-notebook timeout
    last = notebook.cells[-1]
    assert last.cell_type == "code" and "assert " in last.source
    assert "## Checks" in notebook.cells[-2].source.splitlines()


#: What a cell would write to reach past ``tl.*`` into a Kubernetes client.
CLIENT_ACCESS = (
    "import kubernetes",
    "from kubernetes",
    "lightkube",
    "from tutorial_lib",
    "import tutorial_lib.",
    ".api.",
    ".core.",
    ".metadata.",
    ".spec.",
    ".status.",
)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_cells_use_tl_only_never_a_client_object(path):
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        found = [text for text in CLIENT_ACCESS if text in cell.source]
        assert not found, f"cell {index} reaches past tl.*: {found}"
