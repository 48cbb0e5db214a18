"""Release downloads, each verified against the checksum its project publishes.

Three shapes cover every binary the project uses:

* a raw file with a ``<file>.sha256`` beside it (Kubernetes on dl.k8s.io);
* a member of a release archive listed in a sums file (etcd, Prometheus, cyclonus,
  kube-score: ``<sha256>  <archive>`` lines);
* a raw GitHub release asset whose SHA-256 only GitHub's release API states (kwok and
  kwokctl publish no sums file; GitHub records a ``digest`` for every uploaded asset).

``VLLM_TUTORIAL_RELEASE_MIRROR=http://host:port`` fetches ``https://<host>/<path>`` from
``<mirror>/<host>/<path>`` instead: a workshop's or a company's copy of the release hosts,
and how the tests serve release-shaped files locally.

Errors come in two kinds. :class:`Unavailable` (host unreachable, no asset for this platform)
lets the caller fall back to a build; a checksum mismatch or a download cut short is a
:class:`~tutorial_lib.errors.ToolError`, because building instead would hide tampering or a
broken mirror.
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
from pathlib import Path

from tutorial_lib.errors import ToolError

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


def file_with_sha256(url: str, dest: Path) -> None:
    """A raw file whose checksum is published beside it as ``<url>.sha256``."""
    expected = fetch(url + ".sha256").decode().split()[0]
    dest.write_bytes(verified(fetch(url), expected, url))


def listed_sha256(sums: bytes, name: str, source: str) -> str:
    for line in sums.decode().splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1].lstrip("*") == name:
            return fields[0]
    raise Unavailable(f"{source} lists no {name} (no release for this platform)")


def archive_member(base: str, sums: str, archive: str, member: str, dest: Path) -> None:
    """One file of the ``.tar.gz`` release archive ``<base>/<archive>``, listed in ``sums``."""
    expected = listed_sha256(fetch(f"{base}/{sums}"), archive, f"{base}/{sums}")
    url = f"{base}/{archive}"
    data = verified(fetch(url), expected, url)
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            found = tar.extractfile(member)
            if found is None:
                raise KeyError(member)
            dest.write_bytes(found.read())
    except (KeyError, tarfile.TarError) as exc:
        raise ToolError(
            f"{url} passed its checksum but holds no file {member}.",
            "The release changed its layout; report it. Meanwhile VLLM_TUTORIAL_OFFLINE=1 "
            "builds the binary from the Go module proxy.",
        ) from exc


def github_asset(repository: str, tag: str, asset: str, dest: Path) -> None:
    """A raw release asset, verified against the digest GitHub's release API records for it."""
    api = f"https://api.github.com/repos/{repository}/releases/tags/{tag}"
    release = json.loads(fetch(api))
    digest = next((a.get("digest") for a in release.get("assets", []) if a["name"] == asset), None)
    if not digest or not digest.startswith("sha256:"):
        raise Unavailable(f"{api} states no SHA-256 for {asset} (no release for this platform)")
    url = f"https://github.com/{repository}/releases/download/{tag}/{asset}"
    dest.write_bytes(verified(fetch(url), digest.removeprefix("sha256:"), url))
