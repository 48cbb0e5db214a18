"""Karpenter as a daemon of the local cluster: killed, it is started again.

Scale to zero and back is notebook 07's (run twice in one kernel: the node removed, a new
one launched for the Pending pod, the timeline in order, the bill); the blog's 14Gi pod that
no instance type fits is notebook 03's and ``test_library``'s (docs/decisions.md, *The
suite's budget*).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.helpers import eventually
from tutorial_lib.local import daemons


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_a_killed_karpenter_is_started_again_by_its_daemon(connection):
    daemon = daemons.KARPENTER.pid()
    assert daemon is not None
    first = eventually(lambda: _children(daemon), what="Karpenter running under its daemon")[0]
    os.kill(first, signal.SIGKILL)
    second = eventually(
        lambda: [c for c in _children(daemon) if c != first], timeout=30, what="a new Karpenter"
    )[0]
    assert daemons.KARPENTER.pid() == daemon and second != first
