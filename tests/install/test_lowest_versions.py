"""The lowest versions pyproject.toml allows install together and import.

A lower bound nobody installs is a guess: this pins every direct dependency to the lowest
version its specifier allows, installs the package into a fresh venv with those pins (the
resolver picks everything else; uv, as ``make setup`` installs), and imports the notebook
API. Needs PyPI.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest
from packaging.requirements import Requirement
from uv import find_uv_bin

from tests.helpers import ROOT

#: Creating the venv and installing jupyterlab, pandas, matplotlib ... from scratch.
INSTALL_SECONDS = 1500


def dependencies() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"]]


def lowest(requirement: Requirement) -> str:
    """``name==X`` for the lowest version ``>=X``, ``==X`` or ``~=X`` allows."""
    lower = [s.version for s in requirement.specifier if s.operator in (">=", "==", "~=", "===")]
    if not lower:
        pytest.fail(
            f"{requirement} has no lower bound in pyproject.toml: which oldest version works "
            "is then anyone's guess. Add >=X for the oldest version known to work."
        )
    if len(lower) > 1:
        pytest.fail(f"{requirement} has more than one lower bound: {lower}")
    pin = f"{requirement.name}=={lower[0]}"
    assert requirement.specifier.contains(lower[0], prereleases=True), (
        f"{pin} is excluded by its own specifier {requirement.specifier}"
    )
    return pin


def test_every_dependency_has_a_lower_bound():
    pins = [lowest(requirement) for requirement in dependencies()]
    assert len(pins) == len(dependencies()) >= 1


@pytest.mark.timeout(INSTALL_SECONDS + 120)
def test_lowest_allowed_versions_install_and_import(tmp_path):
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("\n".join(lowest(r) for r in dependencies()) + "\n")
    env = tmp_path / "venv"
    uv = find_uv_bin()
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(env)], check=True)
    python = env / "bin" / "python"
    install = subprocess.run(
        [uv, "pip", "install", "--python", str(python), "-c", str(constraints), "-e", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=INSTALL_SECONDS,
        check=False,
    )
    # Without --quiet: the resolver explains a conflict ("Because ... depends on ...").
    output = install.stdout + install.stderr
    assert install.returncode == 0, (
        f"the lowest versions do not install together:\n{constraints.read_text()}\n{output[-6000:]}"
    )
    imported = subprocess.run(
        [str(python), "-c", "import tutorial_lib as tl; tl.connect; tl.Calculator"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,  # an editable install: it imports ROOT's code with the venv's packages
    )
    assert imported.returncode == 0, (
        f"tutorial_lib does not import with the lowest versions:\n{constraints.read_text()}\n"
        f"{imported.stderr[-4000:]}"
    )
