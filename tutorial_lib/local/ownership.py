"""The state folder is the tutorial's: claimed with a marker, changed by one process at a time.

``VLLM_TUTORIAL_STATE`` may name any folder, and ``down`` removes the state folder: without
a marker, a typo (``VLLM_TUTORIAL_STATE=$HOME``) would have it remove someone's files. And
two ``up`` at once (two terminals, two notebooks) would each start the daemons: the lock
makes the second wait and then find the cluster running.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

from tutorial_lib.errors import LocalClusterError
from tutorial_lib.local import paths

MARKER = ".vllm-tutorial-state"


def is_ours(folder: Path) -> bool:
    """Made by ``up``: the marker, or (before there was one) kwok's cluster folder in it."""
    return (folder / MARKER).exists() or (folder / "kwok" / "clusters").is_dir()


def claim() -> Path:
    """The state folder, created and marked if new or empty; refused if it holds others' files.

    Its owner's only (0700): it holds the admin kubeconfig, kwokctl's private keys (written
    0644) and every pod's logs, volumes and home, which no other account may read.
    """
    folder = paths.state_dir()
    if folder.exists() and any(folder.iterdir()) and not is_ours(folder):
        raise LocalClusterError(
            f"The state folder {folder} holds files the tutorial did not make.",
            "Point VLLM_TUTORIAL_STATE at a new or empty folder: down removes the state folder.",
        )
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    (folder / MARKER).touch()
    return folder


def release(folder: Path) -> None:
    """Remove the state folder, if it is the tutorial's."""
    if not folder.exists():
        return
    if not is_ours(folder):
        raise LocalClusterError(
            f"Not removing {folder}: the tutorial did not make it (no {MARKER} in it).",
            "Check VLLM_TUTORIAL_STATE; remove the folder by hand if it really is a cluster's.",
        )
    shutil.rmtree(folder, ignore_errors=True)


def _lock_file() -> Path:
    """Beside the state folder, not in it: ``down`` removes the folder while holding it."""
    folder = paths.state_dir()
    folder.parent.mkdir(parents=True, exist_ok=True)
    return folder.parent / f".{folder.name}.lock"


@contextlib.contextmanager
def exclusive(what: str) -> Iterator[bool]:
    """Hold the cluster's lock; say so when another process has it. Yields: we waited."""
    with _lock_file().open("a") as lock:
        waited = False
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"Another process is changing the local cluster; {what} waits for it.")
            sys.stdout.flush()
            fcntl.flock(lock, fcntl.LOCK_EX)
            waited = True
        try:
            yield waited
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
