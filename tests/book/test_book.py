"""The book (``make book``), opened as a reader opens it: each page of both editions shows
its notebook as the suite ran it, with no error and no missing picture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scripts import editions
from tests.helpers import NOTEBOOKS, ROOT, serve_files

BOOK = ROOT / "build" / "book"
EDITIONS = ("en", "de")
#: What MyST-NB makes of an error output, and of a folded cell.
ERROR = ".cell_output .output.traceback, .cell_output .output.error"
FOLDED = "details.hide"
BROKEN_IMAGES = "[...document.images].filter(i => !i.complete || !i.naturalWidth).map(i => i.src)"


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    if not (BOOK / "index.html").exists():
        pytest.fail("no book in build/book: `make book` builds it")
    with serve_files(BOOK) as url:
        yield url


#: Sphinx typesets quotes (its smartquotes); the notebooks write straight ones.
STRAIGHT = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def title(notebook: dict) -> str:
    """The notebook's first heading, without its markdown."""
    first = editions.source(notebook["cells"][0]).splitlines()[0]
    return first.lstrip("# ").replace("`", "").strip()


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("english", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_page_shows_its_run_in_its_language_without_errors(site, page, edition, english):
    source = editions.load(english if edition == "en" else editions.twin_of(english))
    response = page.goto(f"{site}/{edition}/{english.stem}.html")
    assert response and response.ok
    assert page.locator("html").get_attribute("lang") == edition
    assert title(source) in page.locator("h1").first.inner_text().translate(STRAIGHT)
    code_cells = sum(1 for c in source["cells"] if c["cell_type"] == "code")
    assert page.locator(".cell").count() >= code_cells
    assert page.locator(".cell_output").count() > code_cells // 2, "the outputs are missing"
    assert page.locator(ERROR).count() == 0, page.locator(ERROR).first.inner_text()
    assert page.evaluate(BROKEN_IMAGES) == []
    texts = [editions.source(c) for c in source["cells"] if c["cell_type"] == "markdown"]
    if any("```mermaid" in text for text in texts):  # drawn by mermaid.js, served with the book
        page.locator(".mermaid svg").first.wait_for(timeout=15_000)
    solutions = [c for c in source["cells"] if "solution" in c["metadata"].get("tags", [])]
    folded = page.locator(FOLDED)
    assert folded.count() >= len(solutions), "a solution is shown unfolded"
    assert all(folded.nth(i).get_attribute("open") is None for i in range(folded.count()))


@pytest.mark.parametrize("edition", EDITIONS)
def test_each_edition_starts_with_the_post_the_pictures_and_every_notebook(site, page, edition):
    page.goto(f"{site}/{edition}/index.html")
    links = page.eval_on_selector_all("a", "anchors => anchors.map(a => a.href)")
    assert any("02-vllm-kubernetes-basics.md" in link for link in links), "no link to the post"
    other = "de" if edition == "en" else "en"
    assert any(link.endswith(f"/{other}/index.html") for link in links), "no way to the other"
    for english in NOTEBOOKS:
        assert any(link.endswith(f"/{edition}/{english.stem}.html") for link in links)
    assert page.locator("img").count() >= 1
    assert page.evaluate(BROKEN_IMAGES) == []
