"""Prometheus's web UI for a Prometheus built from its Go module, which lacks the UI's assets.

A release binary embeds the UI; the Go module holds only its sources (``web/ui``), and a
binary built from it serves the UI from disk instead: ``./web/ui/static`` when its working
directory is named ``prometheus`` (``web/ui/ui.go``), as the monitoring daemon's is
(``monitoring.home()``). This builds the UI once, as Prometheus's own ``build_ui.sh`` does
(pnpm, the two PromQL modules, then Vite), from the module zip Go checks against its
checksum database, into the cache; the daemon links it there. So the reader opens *Status →
Target health* (the blog's *Status → Targets* before Prometheus 3) on the local cluster.

It needs Node.js (Vite's ``engines``: 20.19 or newer) and the npm registry. Without them, or
when the build fails, Prometheus runs as before (its API, all the tutorial's code uses,
works; the UI pages answer 500), said once; only ``prepare`` tries a failed build again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

from tutorial_lib.errors import ToolError
from tutorial_lib.local import paths
from tutorial_lib.tools import binaries, cache, gomodules, versions
from tutorial_lib.tools.progress import run_logged

#: The pnpm that installs the UI's packages, from the npm registry.
PNPM = "10.34.9"
#: Vite 8's ``engines`` field.
NODE = (20, 19)
#: The lockfile Prometheus ships pins ``@mantine/*`` 9.7.2, which the registry this was
#: made with does not serve (404); ``prometheus-ui-lock.yaml`` resolves them at 9.8.1, the
#: same major version, and pins everything else as Prometheus's does.
OVERRIDES = {
    f"@mantine/{name}": "9.8.1"
    for name in ("code-highlight", "core", "dates", "hooks", "notifications", "store")
}
#: Built in this order by Prometheus's ``build_ui.sh``: the UI imports both.
MODULES = ("lezer-promql", "codemirror-promql")
#: What a binary with the UI built in holds (``-tags builtinassets``: gzip'd, embedded).
_EMBEDDED = b"static/mantine-ui/index.html.gz"
_CHUNK = 1 << 24
_FAILURE = "prometheus-ui"


def static_dir() -> Path:
    """The built UI: ``static/mantine-ui``, as Prometheus serves it."""
    return cache.cache_dir() / "prometheus-ui" / versions.PROMETHEUS / "static"


def _log() -> Path:
    return cache.cache_dir() / "prometheus-ui" / "build.log"


def embedded(binary: Path) -> bool:
    """Whether ``binary`` carries the UI itself (a release download does)."""
    with binary.open("rb") as file:
        tail = b""
        while chunk := file.read(_CHUNK):
            if _EMBEDDED in tail + chunk:
                return True
            tail = chunk[-len(_EMBEDDED) :]
    return False


def built(folder: Path | None = None) -> bool:
    """Whether the UI is in the cache."""
    folder = folder or static_dir()
    return (folder / "mantine-ui" / "index.html").exists()


def ensure(binary: Path, *, again: bool = False) -> Path | None:
    """The UI's ``static`` folder for ``binary``, built if need be.

    None where the binary needs none (built in) or it cannot be built, said with the reason.
    A failed build is not tried again by every ``up``, only when ``again`` (``prepare``).
    """
    folder = static_dir()
    if built(folder):
        return folder
    if embedded(binary) or (not again and cache.failure(_FAILURE) is not None):
        return None
    why = node_problem()
    if why is None:
        try:
            _build(folder)
        except (ToolError, OSError) as exc:
            why = str(exc).splitlines()[0]
    cache.remember_failure(_FAILURE, why)
    if why is None:
        return folder
    print(f"Prometheus's web UI is not built ({why}); its API works.", flush=True)
    return None


def link(home: Path) -> None:
    """Offer the built UI in Prometheus's working directory, where the binary looks for it."""
    folder, target = static_dir(), home / "web" / "ui" / "static"
    if not built(folder) or (target.is_symlink() and target.resolve() == folder.resolve()):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink():
        target.unlink()
    target.symlink_to(folder, target_is_directory=True)


def node_problem() -> str | None:
    """Why the UI cannot be built here (no Node.js, or one too old); None when it can."""
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        return "no Node.js and npm here: install them (20.19 or newer) and run `make prepare`"
    said = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    found = re.match(r"v(\d+)\.(\d+)", said.stdout.strip())
    if found is None or (int(found[1]), int(found[2])) < NODE:
        return f"Node.js {said.stdout.strip() or '?'} is older than 20.19, which Vite needs"
    return None


def _build(folder: Path) -> None:
    work = binaries.build_dir("prometheus-ui")
    shutil.rmtree(work, ignore_errors=True)
    ui = _sources(work)
    pnpm = _pnpm()
    env = os.environ | {"PATH": f"{pnpm.parent}:{os.environ.get('PATH', '')}", "CI": "true"}
    steps = [
        ([pnpm, "install", "--frozen-lockfile"], ui, "Installing the Prometheus UI's packages"),
        *(
            ([pnpm, "--filter", f"@prometheus-io/{m}", "run", "build"], ui, f"Building {m}")
            for m in MODULES
        ),
        ([pnpm, "exec", "vite", "build"], ui / "mantine-ui", "Building Prometheus's web UI"),
    ]
    for command, cwd, desc in steps:
        run_logged(command, log=_log(), desc=desc, cwd=cwd, env=env)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    (ui / "mantine-ui" / "dist").rename(partial / "mantine-ui")
    partial.rename(folder)
    shutil.rmtree(work, ignore_errors=True)  # its packages: 0.4 GB, pnpm's store keeps them


def _sources(work: Path) -> Path:
    """``web/ui`` from the module zip (checked against its ``h1:``), with the lockfile pinned."""
    module, version = "github.com/prometheus/prometheus", versions.prometheus_module()
    prefix = f"{module}@{version}/web/ui/"
    with gomodules.module_zip(module, version, versions.PROMETHEUS_MODULE_H1) as archive:
        for member in archive.infolist():
            if member.filename.startswith(prefix) and not member.is_dir():
                _extract(archive, member, work / "ui" / member.filename[len(prefix) :])
    ui = work / "ui"
    manifest = json.loads((ui / "package.json").read_text())
    manifest["pnpm"] = {"overrides": OVERRIDES}
    (ui / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (ui / "pnpm-lock.yaml").write_text(paths.package_text("prometheus-ui-lock.yaml"))
    return ui


def _extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, to: Path) -> None:
    to.parent.mkdir(parents=True, exist_ok=True)
    to.write_bytes(archive.read(member))
    if to.suffix == ".sh":
        to.chmod(0o755)


def _pnpm() -> Path:
    """pnpm, installed once from the npm registry into the cache."""
    prefix = cache.cache_dir() / f"pnpm-{PNPM}"
    pnpm = prefix / "node_modules" / ".bin" / "pnpm"
    if not pnpm.exists():
        run_logged(
            ["npm", "install", "--prefix", prefix, "--no-save", f"pnpm@{PNPM}"],
            log=_log(),
            desc=f"Installing pnpm {PNPM}",
        )
    return pnpm
