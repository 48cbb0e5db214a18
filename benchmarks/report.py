"""What every benchmark prints: a Markdown heading with the date and the machine, and tables.

The scripts run as ``python benchmarks/<name>.py``, so this module is imported as ``report``.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable
from datetime import date


def heading(title: str, *details: str) -> None:
    machine = [platform.machine(), f"{os.cpu_count()} cores", f"Linux {platform.release()}"]
    print(f"\n### {title}, {date.today()} ({', '.join([*machine, *details])})\n")


def table(columns: Iterable[str], rows: Iterable[Iterable[object]]) -> None:
    columns = list(columns)
    print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
