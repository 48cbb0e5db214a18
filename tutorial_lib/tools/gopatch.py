"""Go commands built from an upstream module with a small patch of the tutorial's.

Where an upstream program has no option for what the tutorial needs (Karpenter binds its
ports on every interface, kwok's kubelet API takes no client certificate), the module's
source, checked against its go.sum hash, is copied into a build folder, the patch is applied
as exact text replacements, and a wrapper module builds the command with ``replace <module>
=> ./src``. A replacement that no longer matches exactly once stops the build: upstream
changed, and the patch must be looked at again, never applied half.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tutorial_lib.errors import ToolError
from tutorial_lib.tools import binaries, gomodules


@dataclass(frozen=True)
class Patch:
    """A module at a version, checked by its ``h1:``, and what the tutorial changes in it."""

    module: str
    version: str
    h1: str
    #: A file of the module → the (old, new) text replacements in it, each old text once there.
    edits: dict[str, tuple[tuple[str, str], ...]]
    #: New files of the module, by path, with their text.
    added: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """What the cache calls a build of it, never a release's name: ``+tutorial.<hash>``.

        From the patch's own text, so a changed patch is built again, not taken from a cache.
        """
        text = repr(
            (self.module, self.version, sorted(self.edits.items()), sorted(self.added.items()))
        )
        return "+tutorial." + hashlib.sha256(text.encode()).hexdigest()[:8]

    def apply(self, src: Path) -> None:
        """The module's source, patched, in ``src`` (made afresh)."""
        shutil.rmtree(src, ignore_errors=True)
        prefix = f"{self.module}@{self.version}/"
        with gomodules.module_zip(self.module, self.version, self.h1) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    target = src / info.filename.removeprefix(prefix)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.read(info))
        for name, replacements in self.edits.items():
            path = src / name
            text = path.read_text()
            for old, new in replacements:
                if text.count(old) != 1:
                    raise ToolError(
                        f"The tutorial's patch of {self.module} {self.version} no longer fits "
                        f"{name}: {old.strip()!r} is there {text.count(old)} times, not once.",
                        "The module changed under the pinned version, or the patch is wrong: "
                        "report it; nothing was built.",
                    )
                text = text.replace(old, new)
            path.write_text(text)
        for name, text in self.added.items():
            (src / name).write_text(text)


def go_build(
    patch: Patch, package: str, name: str, ldflags: str = "-s -w", toolchain: str = ""
) -> Callable[[Path], None]:
    """Build ``package`` (a command of the patched module) as the binary ``name``."""

    def build(dest: Path) -> None:
        folder = binaries.build_dir(f"{name}-patched")
        folder.mkdir(parents=True, exist_ok=True)
        patch.apply(folder / "src")
        go_line = next(
            line
            for line in (folder / "src" / "go.mod").read_text().splitlines()
            if line.startswith("go ")
        )
        (folder / "go.mod").write_text(
            f"module local/{name}-build\n\n{go_line}\n\nrequire {patch.module} {patch.version}\n\n"
            f"replace {patch.module} => ./src\n"
        )
        (folder / "tools.go").write_text(
            f'//go:build tools\n\npackage tools\n\nimport _ "{package}"\n'
        )
        log = binaries.build_log(name)
        desc = f"Building {name} {patch.version} (patched)"
        binaries.go_run(["mod", "tidy"], cwd=folder, desc=desc, log=log, toolchain=toolchain)
        binaries.go_run(
            ["build", "-trimpath", "-ldflags", ldflags, "-o", str(dest), package],
            cwd=folder,
            desc=desc,
            log=log,
            toolchain=toolchain,
        )

    return build
