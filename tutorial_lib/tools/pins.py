"""The repository's own SHA-256 of release files: what no mirror can change.

``release-pins.txt`` beside this module holds ``<sha256>  <key>`` lines, written by
``python -m tutorial_lib.local pin-releases`` from what each project publishes on its own
host. A key is a release file's URL, or ``binary:<arch>/<name>-<version>`` for the binary
that file holds, so a workshop bundle's binaries are checked against the same pins. Standard
library only: the bundle's installer runs under a bare ``python3``.
"""

from __future__ import annotations

import functools
import platform
from pathlib import Path

PINS_FILE = Path(__file__).with_name("release-pins.txt")


def arch() -> str:
    """The machine's architecture as release files name it (``amd64``, ``arm64``)."""
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def binary_key(file_name: str, architecture: str) -> str:
    """The key of a binary as the cache names it (``etcd-v3.5.35``), for an architecture."""
    return f"binary:{architecture}/{file_name}"


@functools.cache
def _read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pins = {}
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) == 2 and not line.startswith("#"):
            pins[fields[1]] = fields[0].lower()
    return pins


def pinned(key: str) -> str | None:
    """The pinned SHA-256 of a release file's URL or of a :func:`binary_key`, if any."""
    return _read(PINS_FILE).get(key)
