"""The README's pictures are the browser tier's screenshots, none drawn by hand or left stale."""

from __future__ import annotations

import re

from tests.helpers import ROOT

IMAGES = ROOT / "docs" / "images"


def taken_by_the_browser_tier() -> set[str]:
    """The names the browser tests write into docs/images (``screenshot(..., readme=True)``)."""
    source = (ROOT / "tests" / "browser" / "test_reader.py").read_text()
    return {f"{name}.png" for name in re.findall(r'"([\w-]+)", readme=True', source)}


def test_every_picture_in_docs_images_is_taken_by_a_browser_test():
    assert {p.name for p in IMAGES.glob("*.png")} == taken_by_the_browser_tier()


def test_the_readmes_show_pictures_that_exist():
    shown = []
    for readme in (ROOT / "README.md", ROOT / "notebooks" / "README.md"):
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme.read_text()):
            assert (readme.parent / target).resolve().is_file(), f"{readme.name}: {target}"
            shown.append(target)
    assert len([t for t in shown if "docs/images/" in t]) >= 2
