"""Sphinx configuration of the book (``make book``; scripts/book.py assembles its sources).

One configuration for both editions: scripts/book.py builds each edition as a project of its
own, with ``-D language=en`` or ``de`` (the theme's own words follow it), from notebooks the
suite executed. MyST-NB renders them as they are: it executes nothing.
"""

project = "vLLM on Kubernetes"
author = "the vllm-k8s-tutorial authors"
extensions = ["myst_nb", "sphinxcontrib.mermaid"]
nb_execution_mode = "off"  # the outputs are the suite's real runs (scripts/book.py)
nb_merge_streams = True
myst_enable_extensions = ["colon_fence"]
#: JupyterLab draws ```mermaid fences; so does the book (scripts/book.py serves mermaid locally).
myst_fence_as_directive = ["mermaid"]
myst_heading_anchors = 3
exclude_patterns = ["_build"]
#: Headings that skip a level, links to files outside the book, `!kubectl` lines in Python cells.
suppress_warnings = [
    "myst.header",
    "myst.xref_missing",
    "mystnb.unknown_mime_type",
    "misc.highlighting_failure",
]
html_theme = "sphinx_book_theme"
html_title = "vLLM on Kubernetes"
html_theme_options = {
    "show_toc_level": 2,
}
html_static_path: list[str] = []
