"""The committed notebooks: no outputs, a timeout each, and checks at the end."""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from tests.helpers import NOTEBOOKS


def test_the_notebooks_of_the_tutorial_path_are_numbered_without_gaps():
    assert [n.name[:2] for n in NOTEBOOKS] == [f"{i:02d}" for i in range(len(NOTEBOOKS))]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs_or_execution_counts(path):
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {index} has outputs"
            assert cell.execution_count is None, f"cell {index} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_cell_has_its_own_id_as_nbformat_4_5_requires(path):
    """nbformat adds a missing id when it reads a notebook, and warns that it will refuse it."""
    cells = json.loads(path.read_text())["cells"]
    ids = [cell.get("id") for cell in cells]
    assert None not in ids, f"cell {ids.index(None)} has no id"
    assert len(set(ids)) == len(ids), "two cells share an id"


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
        found = [text for text in CLIENT_ACCESS if text in _code_only(cell.source)]
        assert not found, f"cell {index} reaches past tl.*: {found}"


def _python(source: str) -> str:
    """The cell as the kernel runs it: ``!kubectl …`` and magics become Python calls.

    A ``%%solution`` cell's body is what runs once the reader asks: read that.
    """
    return TransformerManager().transform_cell(source.removeprefix("%%solution\n"))


def _code_only(source: str) -> str:
    """The cell without its strings and comments: a path like "spec.template" is data."""
    tokens = tokenize.generate_tokens(io.StringIO(_python(source)).readline)
    kept = (t.string for t in tokens if t.type not in (tokenize.STRING, tokenize.COMMENT))
    return " ".join(kept).replace(" . ", ".")


def _assigned(source: str) -> set[str]:
    """Names a cell binds for later cells (not a comprehension's own variables)."""
    tree = ast.parse(_python(source))
    local = {
        id(node)
        for loop in ast.walk(tree)
        if isinstance(loop, ast.comprehension)
        for node in ast.walk(loop.target)
    }
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and id(node) not in local
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_an_exercise_with_a_hidden_solution_the_checks_do_not_need(path):
    notebook = nbformat.read(path, as_version=4)
    cells = notebook.cells
    exercises = [i for i, c in enumerate(cells) if c.source.startswith("### Exercise")]
    assert exercises, "no exercise"
    for index in exercises:
        if cells[index + 1].source.startswith("%%writefile"):  # the reader edits the YAML
            assert "**edit the" in cells[index].source.lower(), "it says what to edit"
            assert "tl.exercises." in cells[index + 2].source, "a check judges the edit"
            index += 2  # the file, the check, then the solution
        else:
            assert "Predict" in cells[index].source, "an exercise asks for a prediction first"
        solution = cells[index + 1]
        assert solution.cell_type == "code" and "solution" in solution.metadata.get("tags", [])
        assert solution.metadata.get("jupyter", {}).get("source_hidden"), "shown, not hidden"
        assert solution.source.startswith("%%solution\n"), "Run All would run it: %%solution"
        needed = _assigned(solution.source) & _assigned_elsewhere(cells, index + 1)
        assert not needed, f"the solution rebinds names other cells bind: {needed}"
        checks = cells[-1].source
        used = {name for name in _assigned(solution.source) if name in checks}
        assert not used, f"the checks need the exercise's {used}: they must pass without it"


def _assigned_elsewhere(cells: list, skip: int) -> set[str]:
    return {
        name
        for i, cell in enumerate(cells)
        if cell.cell_type == "code" and i != skip
        for name in _assigned(cell.source)
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_objectives_at_the_top_and_a_recap_with_the_blogs_section_at_the_end(path):
    cells = nbformat.read(path, as_version=4).cells
    top = cells[0].source
    assert "**What you will" in top and "**Time:**" in top and "Blog" in top
    recap = next(c.source for c in cells if c.source.startswith("## What you learned"))
    assert "blog" in recap.lower(), "the recap leads back to the blog's section"


#: The series' posts, published as Markdown in the author's repository.
POSTS = "https://github.com/hanasobi/self-hosted-llms-tutorial/blob/main/docs/posts/"
POST_LINK = re.compile(
    r"\[\*?(?P<title>[^\]*]+)\*?\]\("
    + re.escape(POSTS)
    + r"(?P<post>[\w.-]+\.md)#(?P<anchor>[^)]+)\)"
)


def github_anchor(heading: str) -> str:
    """The id GitHub gives a Markdown heading: lower case, punctuation gone, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [  # from the post's own table of contents
        (
            "Monitoring: Observability für Production-LLM-Serving",
            "monitoring-observability-für-production-llm-serving",
        ),
        ("Smoke Test: Funktioniert alles?", "smoke-test-funktioniert-alles"),
        ("Service: Stabiler Zugriff auf vLLM", "service-stabiler-zugriff-auf-vllm"),
    ],
)
def test_anchors_are_made_as_github_makes_them(heading, anchor):
    assert github_anchor(heading) == anchor


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_links_its_section_of_the_post_and_each_anchor_names_its_heading(path):
    cells = nbformat.read(path, as_version=4).cells
    linked = [m["post"] for m in POST_LINK.finditer(cells[0].source)]
    assert "02-vllm-kubernetes-basics.md" in linked, "the top names the post's section as a link"
    for cell in cells:
        for link in POST_LINK.finditer(cell.source if cell.cell_type == "markdown" else ""):
            assert link["anchor"] == github_anchor(link["title"]), link.group(0)
