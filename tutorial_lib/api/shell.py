"""``!kubectl …`` in a notebook cell talks to the cluster ``tl.connect()`` chose.

A cell then reads as the command a reader types in a terminal (``!kubectl get pods -n
ml-models``), and runs for real. ``connect`` puts a ``kubectl`` first on the kernel's PATH
that runs the venv's kubectl with the connection's kubeconfig and context: nothing in your
kubeconfig changes, and no credential is copied. Only in a notebook's kernel: scripts,
daemons and tests keep their PATH.
"""

from __future__ import annotations

import atexit
import functools
import os
import shlex
import shutil
import tempfile
from pathlib import Path

from tutorial_lib.kube.connection import Connection
from tutorial_lib.tools import binaries


def kubectl_in_cells(connection: Connection) -> Path:
    """Write the ``kubectl`` that cells run, put its folder first on PATH; its path."""
    shim = _folder() / "kubectl"
    command = [str(binaries.kubectl()), "--kubeconfig", str(connection.kubeconfig)]
    command += ["--context", connection.context]
    shim.write_text(f'#!/bin/sh\nexec {shlex.join(command)} "$@"\n')
    shim.chmod(0o700)
    path = os.environ.get("PATH", "").split(os.pathsep)
    os.environ["PATH"] = os.pathsep.join(
        [str(shim.parent), *(p for p in path if p != str(shim.parent))]
    )
    return shim


@functools.cache
def _folder() -> Path:
    """The kernel's own folder (0700, as mkdtemp makes it), removed when the kernel ends."""
    folder = Path(tempfile.mkdtemp(prefix="vllm-tutorial-kubectl-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
