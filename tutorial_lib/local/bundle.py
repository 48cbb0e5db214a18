"""The workshop bundle's format: one file with everything a first run downloads or builds.

An uncompressed tar (wheels and model weights barely compress), its manifest last, so that a
copy cut short is refused before anything is unpacked::

    bin/<name>-<version>      the local cluster's binaries and the policy engine
    huggingface/hub/...       the converted stand-in model, as the cache keeps it
    prometheus-ui/<version>/  Prometheus' web UI, where the bundle's maker could build it
    wheels/notebook/*.whl     the notebook environment (the project's dependencies, [dev])
    wheels/runtime/*.whl      the vLLM runtime: every pinned package and torch
    bundle.json               machine, Python, versions, and the SHA-256 of every file

Standard library only: the installer runs under a bare ``python3`` before any venv exists.
Making a bundle is ``bundle_make``, installing one ``bundle_install``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import platform
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from tutorial_lib.errors import LocalClusterError

FORMAT = 1
MANIFEST = "bundle.json"
CHUNK = 1 << 20


def this_machine() -> str:
    return platform.machine()


def this_python() -> str:
    return "{}.{}".format(*sys.version_info[:2])


@dataclass(frozen=True)
class Manifest:
    """What a bundle holds and whom it is for; ``files`` maps each path to its SHA-256."""

    machine: str
    python: str
    versions: dict[str, str]
    files: dict[str, str]
    format: int = FORMAT
    sizes: dict[str, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(self.sizes.values())


class _Hashing:
    """A reader that hashes what passes through it (tarfile reads each file exactly once)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.digest.update(data)
        return data


def write(output: Path, files: Mapping[str, Path], *, versions: Mapping[str, str]) -> Manifest:
    """Pack ``files`` (path in the bundle → file on disk) for this machine and Python."""
    digests: dict[str, str] = {}
    sizes: dict[str, int] = {}
    partial = output.with_name(output.name + ".partial")
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            for name, source in files.items():
                info = tar.gettarinfo(source, arcname=name)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                with source.open("rb") as stream:
                    hashing = _Hashing(stream)
                    tar.addfile(info, hashing)
                digests[name], sizes[name] = hashing.digest.hexdigest(), info.size
            manifest = Manifest(this_machine(), this_python(), dict(versions), digests, sizes=sizes)
            data = json.dumps(asdict(manifest), indent=1, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        partial.replace(output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return manifest


class Bundle:
    """An opened bundle: its manifest read and checked against this machine."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.manifest = _read_manifest(path)

    def files(self, prefix: str) -> dict[str, str]:
        """The bundle's files under ``prefix`` (``bin/``, ``wheels/runtime/``...), with digests."""
        return {name: sha for name, sha in self.manifest.files.items() if name.startswith(prefix)}

    def missing(self, prefix: str, root: Path) -> list[str]:
        """Files under ``prefix`` that ``unpack(prefix, root)`` would write."""
        return [name for name in self.files(prefix) if not (root / name[len(prefix) :]).exists()]

    def unpack(self, prefix: str, root: Path) -> list[str]:
        """Write the missing files under ``prefix`` into ``root``, each checked as it lands.

        A file is written beside its destination and renamed into place only when its
        SHA-256 matches the manifest: a damaged bundle leaves nothing half-written.
        """
        wanted = set(self.missing(prefix, root))
        written = []
        if wanted:
            with tarfile.open(self.path, "r:") as tar:
                for member in tar:
                    if member.name in wanted:
                        self._land(tar, member, root / member.name[len(prefix) :])
                        written.append(member.name)
        if lost := wanted.difference(written):
            raise self._damaged(f"it lacks {min(lost)}, which its manifest lists")
        return written

    @contextlib.contextmanager
    def unpacked(self, prefix: str, beside: Path) -> Iterator[Path]:
        """The files under ``prefix`` in a temporary folder in ``beside``, removed afterwards."""
        beside.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="bundle-", dir=beside))
        try:
            self.unpack(prefix, folder)
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _land(self, tar: tarfile.TarFile, member: tarfile.TarInfo, dest: Path) -> None:
        source = tar.extractfile(member)
        if source is None or not member.isfile():
            raise self._damaged(f"{member.name} is not a regular file")
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".partial")
        digest = hashlib.sha256()
        try:
            with source, partial.open("wb") as out:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != self.manifest.files[member.name]:
                raise self._damaged(f"{member.name} does not match the SHA-256 in its manifest")
            partial.chmod(member.mode & 0o755 | 0o644)
            partial.replace(dest)
        finally:
            partial.unlink(missing_ok=True)

    def _damaged(self, why: str) -> LocalClusterError:
        return LocalClusterError(
            f"The bundle {self.path} is damaged: {why}.",
            "Copy it again from the instructor (or make it again with "
            "`python -m tutorial_lib.local bundle`); nothing of the damaged file was kept.",
        )


def _read_manifest(path: Path) -> Manifest:
    """The manifest, refused unless it is complete and meant for this machine and Python."""
    remake = "Ask for (or make) a bundle on a machine like this one: `make bundle BUNDLE=FILE`."
    try:
        with tarfile.open(path, "r:") as tar:
            stream = tar.extractfile(MANIFEST)
            data = json.loads(stream.read()) if stream else None
    except FileNotFoundError:
        raise LocalClusterError(f"There is no bundle at {path}.", remake) from None
    except (tarfile.TarError, KeyError, EOFError, OSError, ValueError) as exc:
        raise LocalClusterError(
            f"{path} is not a complete tutorial bundle ({exc}): a copy cut short, or another file.",
            "Copy it again; its manifest comes last, so a partial copy never installs.",
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise LocalClusterError(
            f"{path} is a bundle of format {found}; this version of the tutorial reads "
            f"format {FORMAT}.",
            "Make the bundle with the same version of the tutorial as the attendees use.",
        )
    try:
        manifest = Manifest(**data)
    except TypeError as exc:
        raise LocalClusterError(
            f"{path} has a manifest this tutorial cannot read: {exc}."
        ) from None
    if unsafe := [n for n in manifest.files if _escapes(n)]:
        raise LocalClusterError(f"{path} names a file outside its folders: {unsafe[0]}.")
    if manifest.machine != this_machine():
        raise LocalClusterError(
            f"{path} was made for {manifest.machine}; this machine is {this_machine()}: its "
            "binaries and wheels would not run here.",
            remake,
        )
    if manifest.python != this_python():
        raise LocalClusterError(
            f"{path} holds wheels for Python {manifest.python}; this is Python "
            f"{this_python()} ({sys.executable}), and wheels do not cross versions.",
            f"Install with Python {manifest.python} (make demo PYTHON=python"
            f"{manifest.python}), or make a bundle for {this_python()}.",
        )
    return manifest


def _escapes(name: str) -> bool:
    path = PurePosixPath(name)
    return path.is_absolute() or ".." in path.parts
