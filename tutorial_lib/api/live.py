"""vLLM's startup in a notebook: log lines as they stream, the figures table filling in.

The callback is what ``wait_ready(on_line=...)`` takes; lines with a memory figure are
marked ``*``. ``table=False`` (a terminal, ``make demo``) leaves the table to the caller.
"""

from __future__ import annotations

from typing import Any

from IPython.display import display
from tqdm.auto import tqdm

from tutorial_lib.domain.startup import StartupFigures, StartupLogParser
from tutorial_lib.kube.connection import Connection
from tutorial_lib.kube.logs import logs

#: Long lines are cut here: the interesting part of vLLM's lines comes first.
_WIDTH = 160
#: Lines that would drown the interesting ones (vLLM lists every HTTP route at startup).
_NOISE = ("Route: ", '"GET /health')


class LiveStartup:
    """Feed it log lines; it shows them and keeps an up-to-date figures table on display."""

    def __init__(self, *, table: bool = True) -> None:
        self.parser = StartupLogParser()
        self.table = table
        self._handle: Any = None

    @property
    def figures(self) -> StartupFigures:
        return self.parser.figures

    def __call__(self, line: str) -> None:
        found = self.parser.feed(line)
        if not any(noise in line for noise in _NOISE):
            tqdm.write(f"{'*' if found else ' '} {line[:_WIDTH]}")
        if found:
            self._show()

    def _show(self) -> None:
        if not self.table:
            return
        table = self.figures.to_frame()[["figure", "value", "unit"]]
        if self._handle is None:
            self._handle = display(table, display_id=True)
        else:
            self._handle.update(table)

    def catch_up(
        self, cluster: Connection, pod: str, namespace: str | None = None
    ) -> StartupFigures:
        """Read the pod's whole log when the stream began too late (the pod was up already)."""
        if not self.figures.found():
            for line in logs(cluster, pod, namespace):
                self.parser.feed(line)
            self._show()
        return self.figures
