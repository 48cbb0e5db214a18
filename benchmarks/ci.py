"""Time CI as it runs on a submission: ``.ci/run`` in a fresh clone of the committed HEAD.

    python benchmarks/ci.py --cold [--keep]    every cache empty: Go builds, downloads, venvs
    python benchmarks/ci.py [--keep]           warm: this machine's caches, as a later CI run

Both clone HEAD into a scratch folder and run ``bash .ci/run`` there with ``CI=true``. With
``--cold`` the tool cache, the local cluster's state, Go's module and build caches, npm's and pip's
and uv's caches point at empty folders, so every build and download of a first run happens. Prints
the total, the suite's own table (each tier's wall time and vLLM starts, from
``scripts/suite.py``) and, for a cold run, the phases the progress bars report, as Markdown
for docs/benchmarks.md, and how busy the cores were, over the run and by 5 minutes. The full
log stays in the scratch folder with ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import report

ROOT = Path(__file__).resolve().parent.parent
#: "Building kube-apiserver v1.36.3: 05:32" — the last figure printed for each bar wins.
PHASE = re.compile(
    r"((?:Building|Resolving|Installing|Creating|Converting|Downloading)[^:\r\n]*)"
    r": (\d\d:\d\d)"
)
#: The table ``scripts/suite.py`` ends with, up to its budget line.
SUITE_TABLE = re.compile(r"^\| tier \|.*?^\| \*\*total\*\*.*?$", re.M | re.S)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", action="store_true", help="every cache empty")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder and log")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="ci-run-"))
    clone = scratch / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = os.environ | {"CI": "true"}
    if args.cold:
        env |= {
            "VLLM_TUTORIAL_CACHE": str(scratch / "cache"),
            "VLLM_TUTORIAL_STATE": str(scratch / "state"),
            "GOMODCACHE": str(scratch / "gomod"),
            "GOCACHE": str(scratch / "gobuild"),
            "PIP_CACHE_DIR": str(scratch / "pip"),
            "UV_CACHE_DIR": str(scratch / "uv"),
            "npm_config_cache": str(scratch / "npm"),  # pnpm for Prometheus' UI, and its store
            "npm_config_store_dir": str(scratch / "pnpm-store"),
        }
    log = scratch / "ci.log"
    started = time.monotonic()
    with log.open("w") as out, report.BusyCores() as busy:
        proc = subprocess.run(
            ["bash", ".ci/run"], cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    total = time.monotonic() - started
    text = log.read_text(errors="replace")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True
    ).stdout.strip()
    caches = "every cache empty" if args.cold else "warm caches"
    report.heading(f"CI from a fresh clone, {caches}")
    print(f"Commit {commit}: `.ci/run` exit {proc.returncode}, **{total / 60:.1f} min**.\n")
    suite = SUITE_TABLE.search(text)
    print(suite.group(0) if suite else "(the suite printed no table: see the log)")
    windows = ", ".join(f"{share:.0%}" for share in busy.per(300))
    print(f"\nThe cores were {busy.mean():.0%} busy; by 5 minutes: {windows}.")
    if args.cold:
        phases = {name.strip(): elapsed for name, elapsed in PHASE.findall(text)}
        print()
        report.table(["phase (last figure its progress bar printed)", "mm:ss"], phases.items())
    subprocess.run(["chmod", "-R", "u+w", str(scratch)], check=False)  # Go's read-only modcache
    if args.keep:
        print(f"\nlog: {log}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
