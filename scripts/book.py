"""The tutorial as a book, both editions, from real executions (``make book``).

    python -m scripts.book [--executed DIR] [--out DIR]

The pages are the notebooks as the test suite ran them on the local cluster: each passing
notebook's first run, kept by tests/nbmake_twice.py where ``VLLM_TUTORIAL_EXECUTED`` names a
folder (``make test`` sets it for its lanes, so CI renders its own runs and runs nothing
twice). A notebook missing there, or whose code changed since it ran, is executed first,
once, on the local cluster. The German pages are the German twins with the English runs'
outputs, cell by cell (the same ids and the same code, scripts/editions.py). Sphinx with
MyST-NB renders each edition as a site of its own (book/conf.py); an exercise's solution
stays folded until the reader opens it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from scripts import editions
from tutorial_lib.tools.cache import cache_dir

ROOT = Path(__file__).resolve().parent.parent
EXECUTED = ROOT / "build" / "executed"
OUT = ROOT / "build" / "book"
POST = "https://github.com/hanasobi/self-hosted-llms-tutorial/blob/main/docs/posts/02-vllm-kubernetes-basics.md"
SCREENSHOTS = ROOT / "docs" / "images"
#: sphinxcontrib-mermaid's own default: its ES module build draws the diagrams in the browser.
MERMAID = "11.12.1"
#: The landing page of each edition: its words, with ``{provenance}`` and ``{post}``.
INTRO = {
    "en": """# vLLM on Kubernetes: the tutorial, executed

Every notebook of the tutorial as its test suite ran it on the local cluster
({provenance}): real outputs from a real Kubernetes control plane, Karpenter and vLLM.
Built from the German blog post [*vLLM auf Kubernetes*]({post}); run it yourself with
`make lab`. [Deutsche Ausgabe](../de/index.html).
""",
    "de": """# vLLM auf Kubernetes: das Tutorial, ausgeführt

Jedes Notebook des Tutorials so, wie seine Testsuite es auf dem lokalen Cluster ausgeführt
hat ({provenance}): echte Ausgaben einer echten Kubernetes Control Plane, von Karpenter und
vLLM. Die Ausgaben stammen aus den Läufen der englischen Notebooks, deren Code die deutschen
Byte für Byte teilen. Grundlage ist der Blogpost [*vLLM auf Kubernetes*]({post}); selbst
ausführen mit `make lab-de`. [English edition](../en/index.html).
""",
}
#: Below the words: the screenshots and the notebooks, a page each.
CONTENTS = """
{screenshots}

```{{toctree}}
:maxdepth: 1
:caption: Notebooks

{toc}
```
"""


def current(executed: Path, english: Path) -> bool:
    """Whether ``executed`` is a run of ``english`` as it stands: the same code cells."""
    if not executed.exists():
        return False
    code = [editions.source(c) for c in editions.load(english)["cells"] if c["cell_type"] == "code"]
    ran = editions.load(executed)["cells"]
    return code == [editions.source(c) for c in ran if c["cell_type"] == "code"]


def execute_missing(executed: Path) -> None:
    """Run once, on the local cluster, each notebook the suite has no current run of."""
    missing = [p for p in editions.english_notebooks() if not current(executed / p.name, p)]
    if not missing:
        return
    print(f"book: executing {len(missing)} notebook(s) once on the local cluster:", flush=True)
    env = os.environ | {"VLLM_TUTORIAL_EXECUTED": str(executed)}
    command = [sys.executable, "-m", "pytest", "-p", "no:randomly", "--nbmake-once", "-v"]
    ran = subprocess.run([*command, *map(str, missing)], cwd=ROOT, env=env, check=False)
    if ran.returncode != 0:
        raise SystemExit(
            "book: a notebook failed (its error is above), so the book would show it broken; "
            "fix it, or start from the runs of a green `make test`"
        )


def folded(notebook: dict) -> dict:
    """Solutions folded (MyST-NB's ``hide-cell``), as the notebooks hide them from Run All."""
    for cell in notebook["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if "solution" in tags and "hide-cell" not in tags:
            cell["metadata"]["tags"] = [*tags, "hide-cell"]
    return notebook


def with_outputs(german: dict, run: dict) -> dict:
    """The German twin with the English run's outputs, matched by cell id."""
    outputs = {c["id"]: c for c in run["cells"] if c["cell_type"] == "code"}
    for cell in german["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = outputs[cell["id"]]["outputs"]
            cell["execution_count"] = outputs[cell["id"]].get("execution_count")
    german["metadata"] = run["metadata"]
    return german


def mermaid() -> Path | None:
    """A static folder with mermaid's ES module build and its chunks, from the npm registry.

    ``npm pack`` once, kept in the tool cache: the book's diagrams then draw with no CDN, as
    the browser tier (which refuses the network) reads them.
    """
    static = cache_dir() / f"book-static-mermaid-{MERMAID}"
    if (static / "mermaid" / "mermaid.esm.min.mjs").exists():
        return static
    npm = shutil.which("npm")
    if npm is None:
        print("book: no npm, so the diagrams load mermaid from its CDN when the page is read")
        return None
    print(f"book: mermaid {MERMAID} from the npm registry (npm pack), once", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        packed = subprocess.run([npm, "pack", f"mermaid@{MERMAID}", "--silent"], cwd=scratch)
        if packed.returncode != 0:
            print("book: npm could not fetch mermaid, so the diagrams load it from its CDN")
            return None
        with tarfile.open(next(Path(scratch).glob("mermaid-*.tgz"))) as archive:
            wanted = [m for m in archive.getmembers() if _runtime(m)]
            archive.extractall(scratch, members=wanted, filter="data")
        partial = static.with_name(static.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(Path(scratch) / "package" / "dist", partial / "mermaid")
        partial.rename(static)
    return static


def _runtime(member: tarfile.TarInfo) -> bool:
    """The ES module and the chunks it imports, without the source maps."""
    name = member.name
    if name == "package/dist/mermaid.esm.min.mjs":
        return True
    chunk = name.startswith("package/dist/chunks/mermaid.esm.min/")
    return chunk and member.isfile() and not name.endswith(".map")


def provenance(language: str) -> str:
    """Which code ran, and when the book was built, in the edition's words."""
    commit = (
        subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        or "?"
    )
    built = "gebaut am" if language == "de" else "built"
    return f"commit {commit}, {built} {dt.date.today().isoformat()}"


def assemble(executed: Path, source: Path, language: str) -> None:
    """One edition's Sphinx sources: its notebooks, the screenshots, a landing page."""
    shutil.rmtree(source, ignore_errors=True)
    (source / "images").mkdir(parents=True)
    names = []
    for english in editions.english_notebooks():
        run = editions.load(executed / english.name)
        if language == "de":
            run = with_outputs(editions.load(editions.twin_of(english)), run)
        editions.save(folded(run), source / english.name)
        names.append(english.stem)
    shots = sorted(SCREENSHOTS.glob("*.png"))
    for shot in shots:
        shutil.copy(shot, source / "images" / shot.name)
    pictures = "\n".join(f"![{s.stem}](images/{s.name})" for s in shots)
    words = INTRO[language].format(provenance=provenance(language), post=POST)
    index = words + CONTENTS.format(screenshots=pictures, toc="\n".join(names))
    (source / "index.md").write_text(index, encoding="utf-8")


def build(executed: Path, out: Path) -> Path:
    execute_missing(executed)
    static = mermaid()
    module = "mermaid_use_local=mermaid/mermaid.esm.min.mjs"
    local = ["-D", f"html_static_path={static}", "-D", module]
    for language in ("en", "de"):
        source = out.parent / f"book-src-{language}"
        assemble(executed, source, language)
        subprocess.run(
            [sys.executable, "-m", "sphinx", "-q", "-b", "html", "-c", str(ROOT / "book"),
             "-D", f"language={language}", *(local if static else []),
             str(source), str(out / language)],
            check=True,
        )  # fmt: skip
    landing = out / "index.html"
    landing.write_text(
        '<!doctype html><meta charset="utf-8"><title>vLLM on Kubernetes</title>'
        '<meta http-equiv="refresh" content="0; url=en/index.html">'
        '<p><a href="en/index.html">English</a> · <a href="de/index.html">Deutsch</a></p>\n',
        encoding="utf-8",
    )
    return landing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--executed", type=Path, default=EXECUTED)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    landing = build(args.executed, args.out)
    print(f"book: {landing.relative_to(ROOT) if landing.is_relative_to(ROOT) else landing}")


if __name__ == "__main__":
    main()
