"""The book's sources: the German pages carry the English runs' outputs, solutions fold, and a
run of older code is not taken for the notebook as it stands."""

from __future__ import annotations

import copy

from scripts import book, editions
from tests.helpers import NOTEBOOKS


def run_of(english: dict) -> dict:
    """``english`` as an execution leaves it: an output under every code cell."""
    ran = copy.deepcopy(english)
    for number, cell in enumerate(ran["cells"]):
        if cell["cell_type"] == "code":
            text = [f"output of cell {number}\n"]
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": text}]
            cell["execution_count"] = number
    return ran


def test_a_german_page_shows_the_english_run_under_the_same_code():
    english = editions.load(NOTEBOOKS[4])
    german = book.with_outputs(editions.load(editions.twin_of(NOTEBOOKS[4])), run_of(english))
    for ours, theirs in zip(run_of(english)["cells"], german["cells"], strict=True):
        if ours["cell_type"] == "code":
            assert (theirs["source"], theirs["outputs"]) == (ours["source"], ours["outputs"])
        else:
            assert theirs["source"] != ours["source"], "the text stays German"


def test_every_solution_is_folded_and_nothing_else():
    for path in NOTEBOOKS:
        cells = book.folded(editions.load(path))["cells"]
        for cell in cells:
            tags = cell["metadata"].get("tags", [])
            assert ("hide-cell" in tags) == ("solution" in tags)


def test_a_run_of_older_code_is_executed_again(tmp_path):
    english = editions.load(NOTEBOOKS[4])
    executed = tmp_path / NOTEBOOKS[4].name
    assert not book.current(executed, NOTEBOOKS[4])  # no run yet
    editions.save(run_of(english), executed)
    assert book.current(executed, NOTEBOOKS[4])
    older = run_of(english)
    next(c for c in older["cells"] if c["cell_type"] == "code")["source"] = ["tl.old_api()"]
    editions.save(older, executed)
    assert not book.current(executed, NOTEBOOKS[4])
