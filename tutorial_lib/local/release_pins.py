"""The repository's pins of every release file (``tutorial_lib/tools/release-pins.txt``).

``python -m tutorial_lib.local pin-releases`` writes them where the release hosts answer:
for each binary with a release, on each architecture, the SHA-256 its project publishes,
and, once the file itself passed that check, the SHA-256 of the binary it holds. Run it
without ``VLLM_TUTORIAL_RELEASE_MIRROR`` (the pins must come from the projects' own hosts)
whenever a version in ``versions.py`` changes, and commit the file.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from tutorial_lib.local import binaries
from tutorial_lib.tools import binaries as tool_binaries
from tutorial_lib.tools import downloads, pins
from tutorial_lib.tools.binaries import Binary

ARCHITECTURES = ("amd64", "arm64")
#: Every binary the project downloads: the cluster's, the policy engine, kube-score.
RELEASED = tuple(b for b in (*binaries.FIRST_RUN, tool_binaries.KUBE_SCORE) if b.release)
HEADER = """\
# SHA-256 of the release files the project downloads, as each project publishes them on its
# own host (`<sha256>  <url>`), and of the binary each holds (`<sha256>  binary:<arch>/<name>`).
# Written by `python -m tutorial_lib.local pin-releases` (tutorial_lib/local/release_pins.py).
# A file from a mirror (VLLM_TUTORIAL_RELEASE_MIRROR) is installed only against a pin here,
# and a workshop bundle's binary only when it matches its pin (or has none).
"""


def entries(released: Iterable[Binary] = RELEASED) -> Iterator[tuple[str, str]]:
    """``(sha256, key)`` of each release file and of its binary, as each is checked."""
    for binary in released:
        assert binary.release is not None
        for arch in ARCHITECTURES:
            release = binary.release(arch)
            try:
                published = release.published_sha256()
            except downloads.Unavailable as exc:
                print(f"{binary.name} {arch}: not pinned ({exc})", file=sys.stderr)
                continue
            data = downloads.verified(downloads.fetch(release.url), published, release.url)
            executable = downloads.member_of(data, release) if release.member else data
            yield published, release.url
            yield hashlib.sha256(executable).hexdigest(), pins.binary_key(binary.path.name, arch)


def write(path: Path = pins.PINS_FILE) -> int:
    """Write the pins file; the number of pins."""
    if mirror := os.environ.get(downloads.MIRROR_VARIABLE):
        print(f"Reading the release files from the mirror {mirror}: pin only a mirror you trust.")
    lines = [f"{sha}  {key}\n" for sha, key in entries()]
    path.write_text(HEADER + "\n" + "".join(lines))
    return len(lines)
