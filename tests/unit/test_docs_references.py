"""The tests the docs cite as evidence exist: a renamed test must not leave a dead citation."""

from __future__ import annotations

import re

import pytest

from tests.helpers import ROOT

DOCS = [ROOT / "README.md", ROOT / "notebooks" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CITATION = re.compile(r"(tests/[\w/]+\.py)(?:::(\w+))?")


def citations() -> list[tuple[str, str, str | None]]:
    return [
        (doc.name, path, test)
        for doc in DOCS
        for path, test in CITATION.findall(doc.read_text())
        if path.endswith(".py")
    ]


def test_the_docs_cite_tests_at_all():
    assert len(citations()) >= 5


@pytest.mark.parametrize(("doc", "path", "test"), citations())
def test_each_cited_test_file_and_test_exists(doc, path, test):
    source = ROOT / path
    assert source.exists(), f"{doc} cites {path}, which does not exist"
    if test:
        assert re.search(rf"def {test}\b", source.read_text()), f"{doc} cites {path}::{test}"
