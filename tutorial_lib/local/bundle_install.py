"""Install the tutorial from a workshop bundle, with no network at all.

``make demo VLLM_TUTORIAL_BUNDLE=PATH`` runs ``install-bundle PATH --venv .venv`` under the
bare interpreter: binaries and model into the cache, the notebook venv from the bundle's
wheels, then the same command again inside that venv for the vLLM runtime (which needs the
tutorial's own packages). Each step takes only what is missing, so a second run is instant.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from tutorial_lib.errors import LocalClusterError
from tutorial_lib.local.bundle import Bundle
from tutorial_lib.tools import cache, gomodules, pins

#: The clone the notebook venv installs in editable mode (``pip install -e``).
PROJECT = Path(__file__).resolve().parents[2]
NOTEBOOK_EXTRAS = "dev"


def pyproject_digest(project: Path = PROJECT) -> str:
    """Which notebook environment the bundle's wheels were resolved for."""
    return hashlib.sha256((project / "pyproject.toml").read_bytes()).hexdigest()[:12]


def check_pinned_binaries(bundle: Bundle) -> None:
    """Refuse a bundle whose binary is not the release the repository pins for it.

    A binary without a pin (built from the Go module proxy, as an offline machine's bundle
    is) has only the bundle's own manifest to answer for it.
    """
    for name, sha in bundle.files("bin/").items():
        pin = pins.pinned(pins.binary_key(name.removeprefix("bin/"), pins.arch()))
        if pin is not None and pin != sha:
            raise LocalClusterError(
                f"The bundle {bundle.path} holds a {name.removeprefix('bin/')} that is not the "
                f"release the repository pins: SHA-256 {sha}, pinned {pin}.",
                "Do not install it: ask its maker how it was made, or make a bundle yourself "
                "with `python -m tutorial_lib.local bundle`.",
            )


def install(path: Path, venv: Path | None = None) -> None:
    """Everything from the bundle at ``path`` that is not here yet; ``venv``: the notebook's."""
    bundle = Bundle(path)
    check_pinned_binaries(bundle)
    for name in bundle.unpack("bin/", cache.bin_dir()):
        print(f"From the bundle: {name}")
    for name in bundle.unpack("gomod/", gomodules.cache_dir()):
        print(f"From the bundle: {name} (Karpenter's CRDs)")
    if bundle.unpack("huggingface/", cache.huggingface_dir()):
        print("From the bundle: the stand-in model")
    if bundle.unpack("prometheus-ui/", cache.cache_dir() / "prometheus-ui"):
        print("From the bundle: Prometheus' web UI")
    if venv is None:
        _runtime(bundle)
        return
    _notebook_env(bundle, venv)
    # The runtime's installer needs the packages just installed: continue inside the venv.
    done = subprocess.run(
        [venv / "bin" / "python", "-m", "tutorial_lib.local", "install-bundle", str(path)],
        cwd=PROJECT,
        check=False,
    )
    if done.returncode != 0:
        raise LocalClusterError(f"Installing the vLLM runtime from {path} failed (see above).")


def _notebook_env(bundle: Bundle, venv: Path) -> None:
    """The notebook venv as ``make setup`` makes it, its wheels from the bundle."""
    made_for = bundle.manifest.versions.get("pyproject")
    if made_for != pyproject_digest():
        raise LocalClusterError(
            f"{bundle.path} was made from another version of the tutorial (its pyproject.toml "
            f"differs: {made_for}, here {pyproject_digest()}).",
            f"Check out the commit the bundle was made from "
            f"({bundle.manifest.versions.get('tutorial', 'unknown')}), or make a new bundle.",
        )
    stamp = venv / ".installed"
    if stamp.exists() and stamp.stat().st_mtime >= (PROJECT / "pyproject.toml").stat().st_mtime:
        return
    print(f"From the bundle: the notebook environment into {venv} (about a minute)")
    with bundle.unpacked("wheels/notebook/", cache.cache_dir()) as wheelhouse:
        _run([sys.executable, "-m", "venv", str(venv)])
        python = str(venv / "bin" / "python")
        # The installers' caches inside the wheelhouse: they go with it (runtime._wheel_source).
        offline = ["--quiet", "--no-index", "--find-links", str(wheelhouse)]
        offline += ["--cache-dir", str(wheelhouse / ".cache")]
        # pip brings uv, uv the rest, as `make setup` does: in the clone, where uv reads the
        # project's [tool.uv] overrides.
        _run([python, "-m", "pip", "install", *offline, "uv"])
        uv = [str(venv / "bin" / "uv"), "pip", "install", "--python", python, "--compile-bytecode"]
        _run([*uv, *offline, "-e", f"{PROJECT}[{NOTEBOOK_EXTRAS}]"], cwd=PROJECT)
    stamp.touch()


def _run(command: list[str], cwd: Path | None = None) -> None:
    done = subprocess.run(command, cwd=cwd, check=False)
    if done.returncode != 0:
        raise LocalClusterError(
            f"`{' '.join(command)}` failed with exit code {done.returncode} (its output is above).",
            "Remove the venv and run the command again; if it fails the same way, the bundle "
            "was made for another version of the tutorial.",
        )


def _runtime(bundle: Bundle) -> None:
    """The vLLM runtime venv from the bundle's wheels, then ``vllm --version`` as proof."""
    try:
        from tutorial_lib.local import runtime
    except ImportError as exc:
        raise LocalClusterError(
            f"Installing the vLLM runtime needs the tutorial's own packages ({exc.name} is "
            f"missing from {sys.executable}).",
            "Pass --venv .venv (what `make demo VLLM_TUTORIAL_BUNDLE=...` does): the notebook "
            "venv is made from the bundle first.",
        ) from None
    made_for = bundle.manifest.versions.get("runtime requirements")
    if made_for != runtime.requirements_digest():
        raise LocalClusterError(
            f"{bundle.path} holds the runtime of another version of the tutorial (pins "
            f"{made_for}, here {runtime.requirements_digest()}).",
            "Check out the commit the bundle was made from, or make a new bundle.",
        )
    # A bundle carries vLLM's CPU build (its maker's machine may have no GPU at all).
    if runtime.installed(runtime.Build.CPU) is not None:
        return
    with bundle.unpacked("wheels/runtime/", cache.cache_dir()) as wheelhouse:
        env = runtime.ensure_runtime(wheelhouse, runtime.Build.CPU)
    print(f"From the bundle: vLLM {runtime.smoke(env)} in {env.venv}")
