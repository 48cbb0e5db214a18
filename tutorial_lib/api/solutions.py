"""``%%solution``: an exercise's solution runs when the reader asks for it, not on Run All.

A solution cell starts with ``%%solution``. Run as it stands (Run All, or Shift+Enter
before the reader has predicted), it says that it is hidden and runs nothing, so neither
its output nor its side effects give the answer away. ``%%solution show`` runs it.
``VLLM_TUTORIAL_SOLUTIONS=run`` runs every solution: the test suite sets it, so nbmake
still proves each one works.
"""

from __future__ import annotations

import os
from typing import Any

SOLUTIONS_ENV = "VLLM_TUTORIAL_SOLUTIONS"
HIDDEN = (
    "Solution hidden, so that running every cell does not give it away. Make your "
    "prediction or your edit first, then change this cell's first line to `%%solution show` "
    "and run it."
)


def register(shell: Any) -> None:
    """Make ``%%solution`` known to ``shell`` (an IPython kernel's)."""

    def solution(line: str, cell: str) -> None:
        if line.strip() != "show" and os.environ.get(SOLUTIONS_ENV) != "run":
            print(HIDDEN)
            return
        # As %%capture does: the body runs as a cell of its own, its last value displayed;
        # its error is the cell's, so nbmake fails on a broken solution.
        shell.run_cell(cell).raise_error()

    shell.register_magic_function(solution, magic_kind="cell", magic_name="solution")
