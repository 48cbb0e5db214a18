"""Release downloads, each checked against a SHA-256 that the file's server did not choose.

Three shapes cover every binary the project uses (:data:`Release`):

* a raw file with a ``<file>.sha256`` beside it (Kubernetes on dl.k8s.io);
* a member of a release archive listed in a sums file (etcd, Prometheus, cyclonus,
  kube-score: ``<sha256>  <archive>`` lines);
* a raw GitHub release asset whose SHA-256 only GitHub's release API states (kwok and
  kwokctl publish no sums file; GitHub records a ``digest`` for every uploaded asset).

The expected checksum is the repository's pin (``tutorial_lib.tools.pins``) where there is
one, else what the project publishes on its own host. ``VLLM_TUTORIAL_RELEASE_MIRROR=
http://host:port`` fetches ``https://<host>/<path>`` from ``<mirror>/<host>/<path>``
instead (a workshop's or a company's copy of the release hosts, and how the tests serve
release-shaped files locally); a mirror serves the sums files too, so from a mirror only
pinned files are taken.

Errors come in two kinds. :class:`Unavailable` (host unreachable, no asset for this platform,
no pin for a mirror's file) lets the caller fall back to a build; a checksum mismatch or a
download cut short is a :class:`~tutorial_lib.errors.ToolError`, because building instead
would hide tampering or a broken mirror.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tutorial_lib.errors import ToolError
from tutorial_lib.tools import pins

_TIMEOUT = 20
MIRROR_VARIABLE = "VLLM_TUTORIAL_RELEASE_MIRROR"
#: Where the release downloads come from (doctor checks that each answers).
HOSTS = ("dl.k8s.io", "github.com", "api.github.com")


class Unavailable(Exception):
    """A download that cannot happen here: no network, no such host, no asset for us."""


def mirrored(url: str) -> str:
    mirror = os.environ.get(MIRROR_VARIABLE, "").rstrip("/")
    if not mirror:
        return url
    parts = urllib.parse.urlsplit(url)
    return f"{mirror}/{parts.netloc}{parts.path}"


def fetch(url: str) -> bytes:
    """The whole body; a body shorter than its Content-Length is refused, not returned."""
    source = mirrored(url)
    try:
        with urllib.request.urlopen(source, timeout=_TIMEOUT) as response:
            return response.read()
    except http.client.IncompleteRead as exc:
        raise ToolError(
            f"The download of {source} was cut short: {len(exc.partial)} bytes arrived, "
            f"{exc.expected} more were announced.",
            "Nothing was installed. Run the command again; if it keeps failing, the network "
            "or the mirror is dropping connections.",
        ) from exc
    except urllib.error.HTTPError as exc:
        raise Unavailable(f"{source} answered {exc.code}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise Unavailable(f"{source}: {reason}") from exc


def verified(data: bytes, expected_sha256: str, url: str) -> bytes:
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256.lower():
        raise ToolError(
            f"Checksum mismatch for {mirrored(url)}: expected {expected_sha256}, got {actual}.",
            "The file was corrupted or tampered with, and nothing was installed. Run the "
            f"command again; if a mirror ({MIRROR_VARIABLE}) serves it, refresh its copy.",
        )
    return data


def listed_sha256(sums: bytes, name: str, source: str) -> str:
    for line in sums.decode().splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1].lstrip("*") == name:
            return fields[0]
    raise Unavailable(f"{source} lists no {name} (no release for this platform)")


@dataclass(frozen=True)
class RawFile:
    """A raw binary whose checksum is published beside it as ``<url>.sha256`` (dl.k8s.io)."""

    url: str
    member: str = ""

    def published_sha256(self) -> str:
        return fetch(self.url + ".sha256").decode().split()[0]


@dataclass(frozen=True)
class ArchiveMember:
    """One file of a ``.tar.gz`` release archive that a sums file lists."""

    url: str
    sums_url: str
    member: str

    def published_sha256(self) -> str:
        name = self.url.rsplit("/", 1)[-1]
        return listed_sha256(fetch(self.sums_url), name, self.sums_url)


@dataclass(frozen=True)
class GitHubAsset:
    """A raw release asset whose SHA-256 only GitHub's release API states (kwok, kwokctl)."""

    repository: str
    tag: str
    asset: str
    member: str = ""

    @property
    def url(self) -> str:
        return f"https://github.com/{self.repository}/releases/download/{self.tag}/{self.asset}"

    def published_sha256(self) -> str:
        api = f"https://api.github.com/repos/{self.repository}/releases/tags/{self.tag}"
        assets = json.loads(fetch(api)).get("assets", [])
        digest = next((a.get("digest") for a in assets if a["name"] == self.asset), None)
        if not digest or not digest.startswith("sha256:"):
            raise Unavailable(f"{api} states no SHA-256 for {self.asset} (no release here)")
        return digest.removeprefix("sha256:")


Release = RawFile | ArchiveMember | GitHubAsset


def expected_sha256(release: Release) -> str:
    """The repository's pin; without one, what the project itself publishes, never a mirror.

    A mirror serves the file and the checksum that vouches for it, so its checksum proves
    only that the two agree: a file from a mirror is taken only against a pin.
    """
    pin = pins.pinned(release.url)
    if pin is not None:
        return pin
    if os.environ.get(MIRROR_VARIABLE):
        raise Unavailable(
            f"no SHA-256 of {release.url} is pinned in the repository ({pins.PINS_FILE.name}), "
            f"and the checksum a mirror ({MIRROR_VARIABLE}) serves proves nothing"
        )
    return release.published_sha256()


def install(release: Release, dest: Path) -> None:
    """Download ``release``, check it, and write the binary (the archive's member) to ``dest``."""
    expected = expected_sha256(release)  # before the file: no pin, no download from a mirror
    data = verified(fetch(release.url), expected, release.url)
    dest.write_bytes(member_of(data, release) if release.member else data)


def member_of(archive: bytes, release: Release) -> bytes:
    try:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            found = tar.extractfile(release.member)
            if found is None:
                raise KeyError(release.member)
            return found.read()
    except (KeyError, tarfile.TarError) as exc:
        raise ToolError(
            f"{release.url} passed its checksum but holds no file {release.member}.",
            "The release changed its layout; report it. Meanwhile VLLM_TUTORIAL_OFFLINE=1 "
            "builds the binary from the Go module proxy.",
        ) from exc
