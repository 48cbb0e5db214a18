"""Run long subprocesses with a live elapsed-time bar and their output in a log file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from tutorial_lib.errors import ToolError


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_logged(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    log: Path,
    desc: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    hint: str | None = None,
    timeout: float | None = None,
) -> None:
    """Run ``cmd`` to completion, appending its output to ``log``, with an elapsed-time bar.

    Builds and installs take minutes and print thousands of lines; the reader wants to
    see that something is happening and, when it fails, where to look. ``timeout``: stop
    it and fail after that many seconds (for commands that can retry forever).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(map(str, cmd))}\n".encode())
        out.flush()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        # A terminal gets a ticking clock; a CI log gets a line every half minute.
        every = 1.0 if sys.stderr.isatty() else 30.0
        bar = tqdm(desc=desc, bar_format="{desc}: {elapsed}", leave=True)
        shown = started = time.monotonic()
        try:
            while proc.poll() is None:
                if timeout is not None and time.monotonic() - started > timeout:
                    raise ToolError(
                        f"{desc} did not finish within {timeout:.0f} s. Last lines of {log}:\n"
                        f"{tail(log)}",
                        hint or f"The full log is {log}.",
                    )
                time.sleep(0.25)
                if time.monotonic() - shown >= every:
                    bar.refresh()
                    shown = time.monotonic()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            bar.close()
    if proc.returncode != 0:
        raise ToolError(
            f"{desc} failed (exit code {proc.returncode}). Last lines of {log}:\n{tail(log)}",
            hint or f"The full log is {log}.",
        )
