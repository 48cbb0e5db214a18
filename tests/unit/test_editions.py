"""The German edition: a faithful twin of every English notebook, and the tool that keeps it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import editions
from tests.helpers import NOTEBOOKS, ROOT, notebooks_in

GERMAN = notebooks_in(ROOT / "notebooks" / "de")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_english_notebook_has_a_german_twin_with_its_code_and_german_text(path):
    assert editions.differences(path, "de") == []


def test_no_german_notebook_lacks_an_english_original():
    assert {p.name for p in GERMAN} == {p.name for p in NOTEBOOKS}


def collected(path: str) -> str:
    """What pytest collects for ``path``, as ``--collect-only -q`` lists it."""
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", path]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True).stdout


def test_collection_leaves_the_german_edition_to_the_english_runs():
    """CI executes the code once: pytest collects notebooks/de only when it is named."""
    listed = collected("notebooks")
    assert "notebooks/00_setup.ipynb" in listed
    assert "notebooks/de/" not in listed
    assert "notebooks/de/04_service.ipynb" in collected("notebooks/de/04_service.ipynb")


# The tool, on notebooks of its own.


def cell(kind: str, cell_id: str, text: str) -> dict:
    extra = {"outputs": [], "execution_count": None} if kind == "code" else {}
    return {"cell_type": kind, "id": cell_id, "metadata": {}, "source": [text], **extra}


@pytest.fixture
def folders(tmp_path, monkeypatch) -> Path:
    english = tmp_path / "notebooks"
    monkeypatch.setattr(editions, "ENGLISH", english)
    monkeypatch.setattr(editions, "EDITIONS", {"de": english / "de"})
    notebook = {
        "cells": [
            cell("markdown", "intro", "# The Service"),
            cell("code", "get", "tl.get(cluster, 'service/vllm-service')"),
            cell("markdown", "recap", "## What you learned"),
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    editions.save(notebook, english / "04_service.ipynb")
    return english


def translate(folders: Path, tmp_path: Path, **german: str) -> Path:
    """Export, replace each named cell's text with its German, import."""
    working = editions.export(folders / "04_service.ipynb")
    for cell_id, text in german.items():
        name, cells = editions.parse(working)
        cells[cell_id] = text
        working = f"<!-- notebook {name} -->\n" + "".join(
            f"<!-- cell {i} -->\n{t}\n\n" for i, t in cells.items()
        )
    path = tmp_path / "04.md"
    path.write_text(working)
    return editions.import_(path)


def whats_wrong(folders: Path) -> list[str]:
    return editions.differences(folders / "04_service.ipynb", "de")


def edit(path: Path, cell_id: str, text: str) -> None:
    notebook = editions.load(path)
    editions.cell_of(notebook, {"id": cell_id})["source"] = [text]
    editions.save(notebook, path)


def test_a_missing_twin_is_named_with_the_command_that_starts_one(folders):
    assert whats_wrong(folders) == [
        "no de twin: python scripts/editions.py export notebooks/04_service.ipynb"
    ]


def test_an_imported_translation_is_a_faithful_twin(folders, tmp_path):
    german = translate(folders, tmp_path, intro="# Der Service", recap="## Was du gelernt hast")
    assert whats_wrong(folders) == []
    cells = editions.load(german)["cells"]
    assert [editions.source(c) for c in cells] == [
        "# Der Service",
        "tl.get(cluster, 'service/vllm-service')",
        "## Was du gelernt hast",
    ]


def test_a_cell_left_in_english_is_reported_untranslated(folders, tmp_path):
    translate(folders, tmp_path, intro="# Der Service")
    assert whats_wrong(folders) == ["markdown cell 3 (recap) is not translated"]


def test_changed_english_code_is_reported_and_sync_copies_it_keeping_the_german(folders, tmp_path):
    german = translate(folders, tmp_path, intro="# Der Service", recap="## Was du gelernt hast")
    edit(folders / "04_service.ipynb", "get", "tl.endpoints(cluster)")
    assert whats_wrong(folders) == ["code cell 2 differs from the English one: run sync"]
    editions.sync()
    assert whats_wrong(folders) == []
    assert editions.source(editions.load(german)["cells"][0]) == "# Der Service"


def test_changed_english_text_makes_its_translation_stale_until_imported_again(folders, tmp_path):
    translate(folders, tmp_path, intro="# Der Service", recap="## Was du gelernt hast")
    edit(folders / "04_service.ipynb", "recap", "## What you learned here")
    assert whats_wrong(folders) == [
        "markdown cell 3 (recap) translates an older English text: "
        "translate the change, then import"
    ]
    translate(folders, tmp_path, recap="## Was du hier gelernt hast")
    assert whats_wrong(folders) == []


def test_a_new_english_cell_arrives_untranslated_after_sync(folders, tmp_path):
    translate(folders, tmp_path, intro="# Der Service", recap="## Was du gelernt hast")
    english = editions.load(folders / "04_service.ipynb")
    english["cells"].insert(1, cell("markdown", "new", "A new paragraph."))
    editions.save(english, folders / "04_service.ipynb")
    assert whats_wrong(folders) == [
        "its cells differ from the English ones in kind, order or id: run sync"
    ]
    editions.sync()
    assert whats_wrong(folders) == ["markdown cell 2 (new) is not translated"]


def test_an_import_missing_a_cell_is_refused_with_the_fix(folders, tmp_path):
    path = tmp_path / "04.md"
    path.write_text("<!-- notebook 04_service.ipynb -->\n<!-- cell intro -->\n# Der Service\n")
    with pytest.raises(SystemExit, match=r"\['recap'\] are missing \(export the notebook again\)"):
        editions.import_(path)


def test_a_twin_is_written_as_jupyter_writes_notebooks(folders, tmp_path):
    """Saving the German notebook in JupyterLab must not show up as a change."""
    german = translate(folders, tmp_path, intro="# Die Übersicht", recap="## Fazit")
    text = german.read_text(encoding="utf-8")
    assert "Übersicht" in text  # not \\u00dc
    assert text == json.dumps(json.loads(text), indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def test_outputs_saved_in_a_twin_are_reported_and_sync_clears_them(folders, tmp_path):
    """A reader who runs the German notebook and saves it must not commit its outputs."""
    german = translate(folders, tmp_path, intro="# Der Service", recap="## Was du gelernt hast")
    notebook = editions.load(german)
    printed = {"output_type": "stream", "name": "stdout", "text": ["x"]}
    notebook["cells"][1] |= {"outputs": [printed], "execution_count": 1}
    editions.save(notebook, german)
    assert whats_wrong(folders) == ["code cell 2 has outputs (commit without them): run sync"]
    editions.sync()
    assert whats_wrong(folders) == []
