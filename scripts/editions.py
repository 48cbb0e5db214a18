"""Keep the German edition (``notebooks/de/``) in step with the English notebooks.

The English notebooks are the one source of code: a German twin has the same cells, in the
same order, with the same ids, and its code cells are byte for byte the English ones. Only
its markdown is German, and each German markdown cell records a hash of the English text it
translates, so a later change to the English flags the translation as out of date.

    python scripts/editions.py export NOTEBOOK     its markdown as a file to translate
    python scripts/editions.py import FILE         write that file's German into the twin
    python scripts/editions.py sync                code cells from English into every twin
    python scripts/editions.py check               what is missing, untranslated or stale

``export`` prints the twin's German where it exists, the English elsewhere, each cell under a
``<!-- cell ID -->`` line; translate the text between those lines and ``import`` the file.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = ROOT / "notebooks"
EDITIONS = {"de": ENGLISH / "de"}
#: A translated cell's metadata: ``{"translation": {"source": <hash of the English text>}}``.
KEY = "translation"
HEADER = re.compile(r"^<!-- notebook (\S+) -->\n", re.M)
CELL = re.compile(r"^<!-- cell (\S+) -->\n", re.M)

Notebook = dict[str, Any]


def fingerprint(text: str) -> str:
    """Twelve hex digits of the English text's SHA-256: enough to notice any edit."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def source(cell: dict[str, Any]) -> str:
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


def lines(text: str) -> list[str]:
    """The cell source as Jupyter writes it: a list of lines, each with its newline."""
    return text.splitlines(keepends=True)


def load(path: Path) -> Notebook:
    return json.loads(path.read_text(encoding="utf-8"))


def save(notebook: Notebook, path: Path) -> None:
    """Written as Jupyter writes notebooks, so saving one in JupyterLab changes nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")


def english_notebooks() -> list[Path]:
    return sorted(p for p in ENGLISH.glob("*.ipynb") if not p.name.startswith("."))


def twin_of(english: Path, edition: str = "de") -> Path:
    return EDITIONS[edition] / english.name


def twin(english: Notebook, translated: dict[str, str], old: Notebook | None) -> Notebook:
    """The twin of ``english``: its code cells, and German markdown where there is some.

    ``translated`` maps cell ids to German text that translates the current English (from an
    import); a cell not in it keeps the German (and its recorded hash) of ``old``, or, new,
    the English text, which ``check`` reports as untranslated.
    """
    kept = {c["id"]: c for c in (old or {}).get("cells", []) if c["cell_type"] == "markdown"}
    cells = []
    for cell in english["cells"]:
        cell = copy.deepcopy(cell)
        if cell["cell_type"] == "markdown":
            if cell["id"] in translated:
                cell["source"] = lines(translated[cell["id"]])
                cell["metadata"][KEY] = {"source": fingerprint(source(cell_of(english, cell)))}
            elif cell["id"] in kept:
                cell = copy.deepcopy(kept[cell["id"]])
        cells.append(cell)
    return {**copy.deepcopy(english), "cells": cells}


def cell_of(notebook: Notebook, like: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in notebook["cells"] if c["id"] == like["id"])


@dataclass(frozen=True)
class Problem:
    """One thing ``check`` reports, by notebook."""

    notebook: str
    what: str

    def __str__(self) -> str:
        return f"{self.notebook}: {self.what}"


def problems(edition: str = "de") -> list[Problem]:
    """Everything that keeps an edition from being a faithful twin of the English one."""
    found: list[Problem] = []
    names = {p.name for p in english_notebooks()}
    for orphan in sorted(EDITIONS[edition].glob("*.ipynb")):
        if orphan.name not in names:
            found.append(Problem(orphan.name, f"in notebooks/{edition}/ but not in English"))
    for path in english_notebooks():
        found += [Problem(path.name, what) for what in differences(path, edition)]
    return found


def differences(english_path: Path, edition: str) -> list[str]:
    path = twin_of(english_path, edition)
    if not path.exists():
        return [f"no {edition} twin: python scripts/editions.py export notebooks/{path.name}"]
    english, translated = load(english_path), load(path)
    shape = [(c["cell_type"], c["id"]) for c in english["cells"]]
    if [(c["cell_type"], c["id"]) for c in translated["cells"]] != shape:
        return ["its cells differ from the English ones in kind, order or id: run sync"]
    found = []
    pairs = zip(english["cells"], translated["cells"], strict=True)
    for number, (ours, theirs) in enumerate(pairs, 1):
        if ours["cell_type"] == "code":
            if source(ours) != source(theirs) or ours["metadata"] != theirs["metadata"]:
                found.append(f"code cell {number} differs from the English one: run sync")
            elif theirs.get("outputs") or theirs.get("execution_count"):
                found.append(f"code cell {number} has outputs (commit without them): run sync")
        elif source(ours) == source(theirs):
            found.append(f"markdown cell {number} ({ours['id']}) is not translated")
        elif theirs["metadata"].get(KEY, {}).get("source") != fingerprint(source(ours)):
            found.append(
                f"markdown cell {number} ({ours['id']}) translates an older English text: "
                "translate the change, then import"
            )
    return found


def export(english_path: Path, edition: str = "de") -> str:
    """The working file of a translation: each markdown cell under its id."""
    english = load(english_path)
    path = twin_of(english_path, edition)
    current = {c["id"]: c for c in load(path)["cells"]} if path.exists() else {}
    parts = [f"<!-- notebook {english_path.name} -->\n"]
    for cell in english["cells"]:
        if cell["cell_type"] == "markdown":
            text = source(current.get(cell["id"], cell))
            parts.append(f"<!-- cell {cell['id']} -->\n{text.rstrip()}\n\n")
    return "".join(parts)


def parse(text: str) -> tuple[str, dict[str, str]]:
    """The notebook's name and the text of each cell id of a working file."""
    header = HEADER.match(text)
    if not header:
        raise SystemExit("the file does not start with '<!-- notebook NAME -->'")
    chunks = CELL.split(text[header.end() :])
    if chunks[0].strip():
        raise SystemExit("text before the first '<!-- cell ID -->' line")
    ids, texts = chunks[1::2], chunks[2::2]
    return header.group(1), {i: t.strip("\n") for i, t in zip(ids, texts, strict=True)}


def import_(path: Path, edition: str = "de") -> Path:
    name, translated = parse(path.read_text(encoding="utf-8"))
    english_path = ENGLISH / name
    english = load(english_path)
    wanted = {c["id"] for c in english["cells"] if c["cell_type"] == "markdown"}
    unknown, missing = set(translated) - wanted, wanted - set(translated)
    if unknown or missing:
        raise SystemExit(
            f"{path}: cells {sorted(unknown)} are not markdown cells of {name}; "
            f"{sorted(missing)} are missing (export the notebook again)"
        )
    target = twin_of(english_path, edition)
    old = load(target) if target.exists() else None
    # Importing vouches that the file's German translates today's English: each cell whose
    # text is not the English one is stamped with today's English.
    originals = {c["id"]: source(c) for c in english["cells"]}
    german = {i: t for i, t in translated.items() if t != originals[i]}
    save(twin(english, german, old), target)
    return target


def sync(edition: str = "de") -> list[Path]:
    """Each twin rebuilt from its English notebook: code copied, German markdown kept."""
    written = []
    for english_path in english_notebooks():
        target = twin_of(english_path, edition)
        if target.exists():
            save(twin(load(english_path), {}, load(target)), target)
            written.append(target)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    verbs.add_parser("export").add_argument("notebook", type=Path)
    verbs.add_parser("import").add_argument("file", type=Path)
    verbs.add_parser("sync")
    verbs.add_parser("check")
    args = parser.parse_args()
    if args.verb == "export":
        sys.stdout.write(export(ENGLISH / args.notebook.name))
    elif args.verb == "import":
        print("wrote", import_(args.file).relative_to(ROOT))
    elif args.verb == "sync":
        for path in sync():
            print("synced", path.relative_to(ROOT))
    else:
        found = problems()
        for problem in found:
            print(problem)
        return 1 if found else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
