"""What every benchmark prints: a Markdown heading with the date and the machine, and tables.

The scripts run as ``python benchmarks/<name>.py``, so this module is imported as ``report``.
"""

from __future__ import annotations

import os
import platform
import threading
from collections.abc import Iterable
from datetime import date
from pathlib import Path


def heading(title: str, *details: str) -> None:
    machine = [platform.machine(), f"{os.cpu_count()} cores", f"Linux {platform.release()}"]
    print(f"\n### {title}, {date.today()} ({', '.join([*machine, *details])})\n")


def table(columns: Iterable[str], rows: Iterable[Iterable[object]]) -> None:
    columns = list(columns)
    print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


class BusyCores:
    """How busy the cores were, sampled from /proc/stat every ``period`` seconds meanwhile.

    The suite is bound by work or by waiting: the share tells which, and where in the run.
    """

    def __init__(self, period: float = 10.0) -> None:
        self.period, self.shares = period, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> BusyCores:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        before = _cpu_times()
        while not self._stop.wait(self.period):
            now = _cpu_times()
            total, idle = now[0] - before[0], now[1] - before[1]
            self.shares.append(1 - idle / total if total else 0.0)
            before = now

    def mean(self) -> float:
        return sum(self.shares) / len(self.shares) if self.shares else 0.0

    def per(self, seconds: float) -> list[float]:
        """The mean share in each window of ``seconds``, in order."""
        n = max(1, round(seconds / self.period))
        windows = [self.shares[i : i + n] for i in range(0, len(self.shares), n)]
        return [sum(w) / len(w) for w in windows]


def _cpu_times() -> tuple[int, int]:
    """All the cores' time so far, and the idle part of it (idle and iowait), in ticks."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    return sum(fields), fields[3] + fields[4]
