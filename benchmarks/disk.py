"""What a first run leaves on disk: the tutorial's cache by part, the runtime's biggest
packages, and Go's caches (only there when something was built).

    python benchmarks/disk.py

Prints a Markdown table; doctor's disk estimates (tutorial_lib/local/doctor.py) come from it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import report

from tutorial_lib.local import runtime
from tutorial_lib.tools import cache


def size(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def go_cache(name: str) -> Path | None:
    try:
        out = subprocess.run(["go", "env", name], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return Path(out.stdout.strip())


def main() -> None:
    root = cache.cache_dir()
    rows = [(f"cache: {part.name}", size(part)) for part in sorted(root.iterdir()) if part.is_dir()]
    for build in runtime.Build:  # each build's venv that is here (the CUDA one on a GPU)
        venv = runtime.venv_dir(build)
        if not (venv / ".complete").exists():
            continue
        site = next(venv.glob("lib/python3.*/site-packages"), venv)
        first = (venv / ".complete").read_text().strip().splitlines()[0]
        rows += [(f"{build.value} runtime venv ({first})", size(venv))]
        parts = ("torch", "nvidia", "triton")
        rows += [(f"  of which {name}", size(site / name)) for name in parts]
    rows += [(f"Go {name}", size(p)) for name in ("GOMODCACHE", "GOCACHE") if (p := go_cache(name))]
    report.heading("Disk after a first run")
    report.table(["what", "size"], [(label, f"{total / 1024**3:.2f} GiB") for label, total in rows])


if __name__ == "__main__":
    main()
