"""Find the CPython interpreters this project supports (3.11 to 3.14), newest first.

Run by the Makefile before any venv exists, so it uses the standard library only and runs
under any Python 3.6+. Looks on PATH (``python3.14`` … ``python3.11``, ``python3``) and in
pyenv's versions folder, and keeps the first interpreter of each minor version that runs.

    python3 scripts/pythons.py            the newest one (what ``make setup`` uses)
    python3 scripts/pythons.py --all      "3.13 /path" per minor version (unit tier on each)
    python3 scripts/pythons.py --check X  is X supported? (for ``PYTHON=X make ...``)
"""

import glob
import os
import shutil
import subprocess
import sys

SUPPORTED = [(3, 14), (3, 13), (3, 12), (3, 11)]
_PROBE = "import sys; print(sys.version_info[0], sys.version_info[1], sys.executable)"


def probe(command):
    """(major, minor, executable) of an interpreter that runs, else None."""
    try:
        out = subprocess.run(
            [command, "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    major, minor, executable = out.stdout.split(" ", 2)
    return (int(major), int(minor)), executable.strip()


def candidates():
    names = [f"python{major}.{minor}" for major, minor in SUPPORTED] + ["python3"]
    found = [shutil.which(name) for name in names]
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for major, minor in SUPPORTED:
        pattern = os.path.join(root, "versions", f"{major}.{minor}.*", "bin", "python3")
        found += sorted(glob.glob(pattern), reverse=True)
    return [command for command in found if command]


def supported():
    """{(major, minor): executable} of every supported interpreter that runs here."""
    seen = {}
    for command in candidates():
        result = probe(command)
        if result and result[0] in SUPPORTED and result[0] not in seen:
            seen[result[0]] = result[1]
    return dict(sorted(seen.items(), reverse=True))


def fail(message):
    sys.stderr.write(
        message + "\nThis tutorial needs CPython 3.11, 3.12, 3.13 or 3.14. Install one "
        "(your package manager's python3.13, pyenv install 3.13, or https://www.python.org/"
        "downloads/) or name it: make demo PYTHON=/path/to/python3.13\n"
    )
    sys.exit(1)


def main(argv):
    if argv[:1] == ["--check"]:
        result = probe(argv[1]) if len(argv) > 1 else None
        if result is None:
            fail(f"{(argv[1:] or ['PYTHON'])[0]} does not run.")
        if result[0] not in SUPPORTED:
            fail("{} is Python {}.{}.".format(argv[1], *result[0]))
        return
    found = supported()
    if not found:
        fail("No supported Python found on PATH or in pyenv.")
    if argv[:1] == ["--all"]:
        for version, executable in found.items():
            print("{}.{} {}".format(*version, executable))
    else:
        print(next(iter(found.values())))


if __name__ == "__main__":
    main(sys.argv[1:])
