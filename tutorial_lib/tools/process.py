"""Run a tool to its end, its output captured, a hang turned into the tutorial's error.

The short-lived commands of the tutorial's API and tools (kubectl, kustomize, the policy
engine, promtool, the linters) go through ``run``: never the reader's terminal as stdin
(kubectl would stop and ask for a username), and a timeout says which command waited, not
a bare traceback. The local cluster's own lifecycle commands have their own runner.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path

from tutorial_lib.errors import ToolError, TutorialError


def run(
    command: Sequence[str | os.PathLike[str]],
    *,
    timeout: float,
    input: str | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    what: str | None = None,
    error: type[TutorialError] = ToolError,
    hint: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``command``'s exit code and output; raises ``error`` when it outlasts ``timeout``.

    ``what`` names the command in that error (default: the program's name).
    """
    argv = [str(part) for part in command]
    try:
        return subprocess.run(
            argv,
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=env,
            cwd=cwd,
        )
    except subprocess.TimeoutExpired as exc:
        raise error(
            f"{what or Path(argv[0]).name} did not finish within {timeout:.0f} s.",
            hint or f"Run it by hand to see where it waits: {shlex.join(argv)}",
        ) from exc
