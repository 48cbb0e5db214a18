"""Time CI as it runs on a submission: ``.ci/run`` in a fresh clone, every cache empty.

    python benchmarks/ci_cold.py [--keep]

Clones the committed HEAD into a scratch folder and runs ``bash .ci/run`` there with the
tool cache, the local cluster's state, Go's module and build caches and pip's cache all
pointing at empty folders, so every build and download of a first run happens. Prints the
total, each pytest run's summary line, and the phases the progress bars report, as a
Markdown table for docs/benchmarks.md. The full log stays in the scratch folder with
``--keep``.
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
SUMMARY = re.compile(r"^=*\s*(\d+ passed.*?) in ([\d.]+)s", re.M)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder and log")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="ci-cold-"))
    clone = scratch / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = os.environ | {
        "CI": "true",
        "VLLM_TUTORIAL_CACHE": str(scratch / "cache"),
        "VLLM_TUTORIAL_STATE": str(scratch / "state"),
        "GOMODCACHE": str(scratch / "gomod"),
        "GOCACHE": str(scratch / "gobuild"),
        "PIP_CACHE_DIR": str(scratch / "pip"),
    }
    log = scratch / "ci.log"
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.run(
            ["bash", ".ci/run"], cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    total = time.monotonic() - started
    text = log.read_text(errors="replace")
    phases: dict[str, str] = {}
    for name, elapsed in PHASE.findall(text):
        phases[name.strip()] = elapsed
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True
    ).stdout.strip()
    report.heading("CI from a fresh clone, every cache empty")
    print(f"Commit {commit}: `.ci/run` exit {proc.returncode}, **{total / 60:.1f} min**.\n")
    summaries = enumerate(SUMMARY.findall(text), 1)
    report.table(
        ["pytest run", "result", "seconds"],
        [(index, result, f"{float(seconds):.0f}") for index, (result, seconds) in summaries],
    )
    print()
    report.table(["phase (last figure its progress bar printed)", "mm:ss"], phases.items())
    subprocess.run(["chmod", "-R", "u+w", str(scratch)], check=False)  # Go's read-only modcache
    if args.keep:
        print(f"\nlog: {log}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
