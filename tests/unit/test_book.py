"""The book's sources: the German pages carry the English runs' outputs, solutions fold, and a
run of older code is not taken for the notebook as it stands."""

from __future__ import annotations

import copy
import tarfile

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


def fake_npm(folder, script: str) -> None:
    npm = folder / "npm"
    npm.write_text(f"#!/bin/sh\n{script}\n")
    npm.chmod(0o755)


def test_mermaid_comes_from_npm_once_and_then_from_the_cache(tmp_path, monkeypatch):
    """npm pack's tarball: the ES module and its chunks are kept, the source maps are not."""
    package = tmp_path / "package" / "dist"
    (package / "chunks" / "mermaid.esm.min").mkdir(parents=True)
    (package / "mermaid.esm.min.mjs").write_text("export default {}")
    (package / "chunks" / "mermaid.esm.min" / "flow.mjs").write_text("export {}")
    (package / "chunks" / "mermaid.esm.min" / "flow.mjs.map").write_text("{}")
    (package / "mermaid.js").write_text("// not needed")
    tarball = tmp_path / f"mermaid-{book.MERMAID}.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(tmp_path / "package", arcname="package")
    fake_npm(tmp_path, f'echo packed >> "{tmp_path}/calls"; cp "{tarball}" .')
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setenv("VLLM_TUTORIAL_CACHE", str(tmp_path / "cache"))
    static = book.mermaid()
    assert static is not None and book.mermaid() == static
    kept = sorted(p.relative_to(static).as_posix() for p in static.rglob("*") if p.is_file())
    assert kept == ["mermaid/chunks/mermaid.esm.min/flow.mjs", "mermaid/mermaid.esm.min.mjs"]
    assert (tmp_path / "calls").read_text() == "packed\n", "fetched once"


def test_without_npm_or_its_registry_the_book_says_where_mermaid_comes_from(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("VLLM_TUTORIAL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm at all
    assert book.mermaid() is None
    assert "no npm" in capsys.readouterr().out
    fake_npm(tmp_path, "echo 'npm error code E404' >&2; exit 1")  # the registry refuses
    assert book.mermaid() is None
    assert "could not fetch mermaid" in capsys.readouterr().out
