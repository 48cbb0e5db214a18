"""Every figure a notebook's prose states is in the claims ledger, with its evidence (issue 29).

A figure is a number with a unit of memory (GiB, GB, MiB, MB, and Kubernetes' Gi and Mi), of
time (s, seconds, min, minutes, h, hours) or of money ($, USD), or a percentage, as a
markdown cell writes it; a range with an en dash (3 to 5 minutes) is one figure. Text inside
backticks is skipped entirely, code spans and fenced blocks alike: a command line such as
`--gpu-memory-utilization=0.88` or a setting such as `consolidateAfter: 10m` is not a figure
told to the reader. Code cells and their outputs are not read. The ledger is the table under
"Figures in the notebooks" in docs/claims.md: figure | notebook | what it is | evidence | date.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers import NOTEBOOKS, ROOT, notebooks_in

LEDGER = ROOT / "docs" / "claims.md"
GERMAN = notebooks_in(ROOT / "notebooks" / "de")

NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"  # 123,472 or 19.40
#: The German edition's words for the units, as the English edition writes them.
GERMAN_UNITS = {"Sekunden": "seconds", "Minuten": "minutes", "Minute": "minute", "Stunden": "hours"}
UNIT = "|".join([*GERMAN_UNITS, r"GiB|GB|MiB|MB|Gi|Mi|seconds?|secs?|minutes?|mins?|hours?|h|s|%"])
FIGURE = re.compile(
    # Not inside a word or another number: the "14" of "v0.14 s" or "x14 GB" is no figure.
    rf"(?<![\w.,$\u2013-])(?:"
    rf"\$(?:{NUMBER})|USD\s?(?:{NUMBER})|(?:{NUMBER})\s?USD"
    rf"|(?:{NUMBER})(?:\s?\u2013\s?(?:{NUMBER}))?\s?(?:{UNIT})"  # \u2013: an en dash
    # The unit ends the word: "5 Mistral" or "4 hidden" has no unit.
    rf")(?!\w)"
)
CODE = re.compile(r"(`+).*?\1", re.DOTALL)  # `span`, ``span`` and ``` fenced blocks ```


def figures(markdown: str) -> set[str]:
    prose = CODE.sub(" ", markdown)
    found = {re.sub(r"\s+", " ", m.group()) for m in FIGURE.finditer(prose)}
    return {re.sub("|".join(GERMAN_UNITS), lambda u: GERMAN_UNITS[u.group()], f) for f in found}


def stated() -> set[tuple[str, str]]:
    """(notebook, figure) for every figure in every notebook's markdown cells, the German
    edition's included: a translation states the figures of its original and no others."""
    pairs = set()
    for path in NOTEBOOKS + GERMAN:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "markdown":
                pairs |= {(path.name, f) for f in figures("".join(cell["source"]))}
    return pairs


def ledger(path: Path = LEDGER) -> list[dict[str, str]]:
    """The rows of the table under "## Figures in the notebooks", one dict per row."""
    section = path.read_text().split("## Figures in the notebooks", 1)[1].split("\n## ")[0]
    lines = [line.strip() for line in section.splitlines() if line.strip().startswith("|")]
    header, _rule, *rows = lines
    names = [cell.strip() for cell in header.strip("|").split("|")]
    return [
        dict(zip(names, (cell.strip() for cell in row.strip("|").split("|")), strict=True))
        for row in rows
    ]


def listed() -> set[tuple[str, str]]:
    return {(row["notebook"], row["figure"].strip("`")) for row in ledger()}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the budget is **19.40 GiB** (20.83 GB)", {"19.40 GiB", "20.83 GB"}),
        ("graphs took 1.13\nGiB, 26 s", {"1.13 GiB", "26 s"}),
        ("$0.8048 per hour, ~$0.70/Stunde, 30 % or 30%", {"$0.8048", "$0.70", "30 %", "30%"}),
        (
            "2.5 minutes, 3\u20135 minutes, 1,024 MB, 14 Gi",
            {"2.5 minutes", "3\u20135 minutes", "1,024 MB", "14 Gi"},
        ),
        ("123,472 tokens, vLLM 0.14.1, Mistral-7B, 10⁹ bytes, 5 Mistral", set()),
        ("3\u20135 Minuten, 30 Sekunden, 1 Minute", {"3\u20135 minutes", "30 seconds", "1 minute"}),
        ("`--gpu-memory-utilization=0.88`, `interval: 30s`, ```\nmemory: 12 Gi\n```", set()),
    ],
)
def test_what_counts_as_a_figure(text, expected):
    assert figures(text) == expected


@pytest.mark.parametrize(("notebook", "figure"), sorted(stated()))
def test_each_figure_a_notebook_states_is_in_the_ledger(notebook, figure):
    assert (notebook, figure) in listed(), (
        f"{notebook} states {figure!r}, which docs/claims.md does not list: add it to "
        "docs/claims.md (Figures in the notebooks) with its evidence, or remove it"
    )


def test_no_ledger_row_names_a_figure_no_notebook_states():
    stale = sorted(listed() - stated())
    assert not stale, f"docs/claims.md lists figures no notebook states any more: {stale}"
    assert len(ledger()) == len(listed()), "docs/claims.md lists a figure twice for a notebook"


def test_every_ledger_row_has_evidence():
    empty = [(row["notebook"], row["figure"]) for row in ledger() if not row["evidence"]]
    assert not empty, f"docs/claims.md: rows without evidence (write 'none found'): {empty}"
