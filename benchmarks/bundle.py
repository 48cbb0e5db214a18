"""A workshop bundle: how long it takes to make, how big it is, and how long an attendee waits.

    python benchmarks/bundle.py

Makes a bundle from this machine's cache (``make prepare`` first), then runs the instructor's
rehearsal (``scripts/rehearse_bundle.py``): an empty cache, no network, ``make setup`` and
``make demo`` from the bundle. Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import report

from tutorial_lib.local import bundle

ROOT = Path(__file__).resolve().parent.parent
#: The rehearsal's two summary lines: "install from the bundle: 212 s (exit code 0)".
SUMMARY = re.compile(r"^(install from the bundle|make demo, [^:]*): (\d+) s \(exit code (\d+)\)$")


#: The wheels a CPU-only torch would not need: PyPI's torch is the CUDA build.
CUDA_BUILD = ("torch-", "nvidia", "cuda")


def part(name: str) -> str:
    """``bin``, ``huggingface``, ``wheels/notebook``, ``wheels/runtime`` (torch split out)."""
    depth = 2 if name.startswith("wheels/") else 1
    found = "/".join(name.split("/")[:depth])
    if found == "wheels/runtime" and name.rsplit("/", 1)[-1].startswith(CUDA_BUILD):
        return "wheels/runtime: torch and its CUDA libraries"
    return found


def sizes(manifest: bundle.Manifest) -> Counter[str]:
    found = Counter[str]()
    for name, size in manifest.sizes.items():
        found[part(name)] += size
    return found


def gib(size: int) -> str:
    return f"{size / 2**30:.2f} GiB"


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "workshop.tar"
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "tutorial_lib.local", "bundle", path], check=True)
        made = time.monotonic() - started
        manifest = bundle.Bundle(path).manifest
        rehearsal = subprocess.run(
            [sys.executable, ROOT / "scripts" / "rehearse_bundle.py", path],
            capture_output=True,
            text=True,
        )
    phases = [m.groups() for m in map(SUMMARY.match, rehearsal.stdout.splitlines()) if m]
    report.heading("Workshop bundle", f"Python {manifest.python}")
    rows = [("make the bundle (from a prepared cache, wheels from PyPI)", f"{made:.0f} s")]
    rows += [(f"size: {part}", gib(size)) for part, size in sizes(manifest).items()]
    rows += [("size: the whole bundle", gib(manifest.size))]
    rows += [(f"{what} (no network)", f"{secs} s, exit code {code}") for what, secs, code in phases]
    report.table(["step", "measured"], rows)
    return rehearsal.returncode


if __name__ == "__main__":
    sys.exit(main())
