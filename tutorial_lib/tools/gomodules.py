"""Files of a Go module, from the Go module proxy, checked against the module's go.sum hash.

The module proxy is reachable where release hosts are not (the offline path builds every
binary from it), and a module's zip is its source tree: CRDs and examples included. Each
zip is checked against its ``h1:`` hash, the one ``go.sum`` records (``golang.org/x/mod``'s
dirhash ``Hash1``: SHA-256 over the lines ``<sha256 of the file>  <name>``, sorted by
name), and kept in the cache. ``GOPROXY``'s first URL is used when set; a mirror set for the
release downloads (``VLLM_TUTORIAL_RELEASE_MIRROR``) serves the proxy's layout too.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import zipfile
from pathlib import Path

from tutorial_lib.errors import ToolError
from tutorial_lib.tools import cache, downloads

DEFAULT_PROXY = "https://proxy.golang.org"


def proxy() -> str:
    first = os.environ.get("GOPROXY", "").split(",")[0].split("|")[0].strip()
    return first.rstrip("/") if first.startswith(("http://", "https://")) else DEFAULT_PROXY


def escaped(module: str) -> str:
    """The proxy's spelling of a module path: each capital letter as ``!`` and lower case."""
    return re.sub(r"[A-Z]", lambda m: "!" + m.group().lower(), module)


def hash1(archive: zipfile.ZipFile) -> str:
    """go.sum's ``h1:`` of a module zip."""
    names = sorted(name for name in archive.namelist() if not name.endswith("/"))
    lines = [f"{hashlib.sha256(archive.read(name)).hexdigest()}  {name}\n" for name in names]
    return "h1:" + base64.b64encode(hashlib.sha256("".join(lines).encode()).digest()).decode()


def cache_dir() -> Path:
    """Where the zips are kept (a workshop bundle carries them)."""
    return cache.cache_dir() / "gomod"


def zip_path(module: str, version: str) -> Path:
    return cache_dir() / f"{escaped(module).replace('/', '_')}@{version}.zip"


def module_zip(module: str, version: str, h1: str) -> zipfile.ZipFile:
    """The module's zip, from the cache or the proxy; refused when its hash is not ``h1``."""
    path = zip_path(module, version)
    if path.exists():
        cached = zipfile.ZipFile(path)
        if hash1(cached) == h1:  # a few milliseconds: a damaged cache is fetched again
            return cached
        cached.close()
    url = f"{proxy()}/{escaped(module)}/@v/{version}.zip"
    try:
        data = downloads.fetch(url)
    except downloads.Unavailable as exc:
        raise ToolError(
            f"The Go module proxy did not give {module}@{version}: {exc}",
            "The tutorial reads it from the Go module proxy; set GOPROXY to one that answers.",
        ) from exc
    actual = hash1(zipfile.ZipFile(io.BytesIO(data)))
    if actual != h1:
        raise ToolError(
            f"{module}@{version} from {downloads.mirrored(url)} has hash {actual}, not {h1}.",
            "The zip was corrupted or tampered with; nothing was kept. Run the command again.",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)
    return zipfile.ZipFile(path)


def read(module: str, version: str, h1: str, name: str) -> str:
    """One file of the module, by its path inside the module."""
    with module_zip(module, version, h1) as archive:
        return archive.read(f"{module}@{version}/{name}").decode()
