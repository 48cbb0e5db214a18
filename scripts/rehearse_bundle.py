"""Rehearse a workshop install: a bundle, an empty machine, no network, the first answer.

    python3 scripts/rehearse_bundle.py BUNDLE [--keep]

What an attendee's laptop will do, done here before the workshop: a copy of this clone, an
empty cache and state, and ``make setup`` then ``make demo`` with
``VLLM_TUTORIAL_BUNDLE=BUNDLE``, each in a network namespace whose only interface is
loopback (``unshare --net``), so no index, proxy or download can answer. Prints how long
the install and the demo took; the exit code is the demo's. The local cluster is stopped
and the scratch folder removed at the end (``--keep`` keeps the folder and its log).
Standard library only; needs ``unshare`` and ``ip`` (util-linux, iproute2).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def copy_clone(dest: Path) -> None:
    """The files git knows of (committed or not, never ignored ones): a fresh checkout."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def offline(command: str, clone: Path, env: dict[str, str], log: Path) -> tuple[int, float]:
    """``command`` in a network namespace with only loopback; its exit code and duration."""
    namespace = ["unshare", "--net"] + ([] if os.geteuid() == 0 else ["--map-root-user"])
    only_loopback = (
        '[ "$(ip -o link show | cut -d: -f2 | xargs)" = lo ] '
        "|| { echo 'rehearse_bundle: the namespace has more than loopback' >&2; exit 97; }"
    )
    script = f"{only_loopback}; ip link set lo up && cd {shlex.quote(str(clone))} && {command}"
    started = time.monotonic()
    with log.open("a") as out:
        out.write(f"\n$ {command}\n")
        out.flush()
        proc = subprocess.Popen(
            [*namespace, "bash", "-c", script],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            out.write(line)
    return proc.wait(), time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", type=Path, help="a bundle made by `make bundle`")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            sys.exit(f"rehearse_bundle: `{tool}` is not installed (util-linux, iproute2).")
    scratch = Path(tempfile.mkdtemp(prefix="rehearse-bundle-"))
    clone, log = scratch / "clone", scratch / "rehearsal.log"
    copy_clone(clone)
    # A clean machine: none of this one's settings, except the test suite's count of vLLM
    # starts (scripts/suite.py), which the rehearsal's own start belongs to.
    kept = {"VLLM_TUTORIAL_STARTS_LOG"}
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("VLLM_TUTORIAL_") or key in kept
    } | {
        "VLLM_TUTORIAL_BUNDLE": str(args.bundle.resolve()),
        "VLLM_TUTORIAL_CACHE": str(scratch / "cache"),
        "VLLM_TUTORIAL_STATE": str(scratch / "state"),
        "PIP_CACHE_DIR": str(scratch / "pip"),
        "UV_CACHE_DIR": str(scratch / "uv"),
        "PYTHONUNBUFFERED": "1",
    }
    try:
        installed, install_time = offline("make setup", clone, env, log)
        answered, demo_time = 1, 0.0
        if installed == 0:
            demo = "trap 'make cluster-down' EXIT; make demo"
            answered, demo_time = offline(demo, clone, env, log)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"\ninstall from the bundle: {install_time:.0f} s (exit code {installed})")
    print(f"make demo, cluster up to the first answer: {demo_time:.0f} s (exit code {answered})")
    if args.keep:
        print(f"scratch folder and log: {scratch}")
    return answered


if __name__ == "__main__":
    sys.exit(main())
