"""A workshop bundle installs and serves the first completion with the network cut.

``make bundle`` from this machine's cache (``make test`` prepared it), then the instructor's
rehearsal, ``scripts/rehearse_bundle.py``: a copy of the clone, an empty cache, and
``make setup`` and ``make demo`` with ``VLLM_TUTORIAL_BUNDLE`` in a network namespace with
only loopback. Slow (a 3.7 GiB bundle and a runtime venv from it) and needs ``unshare``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.helpers import ROOT
from tutorial_lib.local import runtime

#: Packing the bundle, installing both venvs from it, a cluster and vLLM's first start.
SECONDS = 1800


@pytest.mark.timeout(SECONDS)
def test_a_bundle_installs_and_answers_with_no_network(tmp_path_factory):
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs unshare and ip (util-linux, iproute2) for a network namespace")
    folder = tmp_path_factory.mktemp("bundle")
    path = folder / "workshop.tar"
    try:
        subprocess.run(
            [sys.executable, "-m", "tutorial_lib.local", "bundle", str(path)], check=True
        )
        done = subprocess.run(
            [sys.executable, ROOT / "scripts" / "rehearse_bundle.py", str(path)],
            capture_output=True,
            text=True,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    output = done.stdout
    assert done.returncode == 0, output[-5000:]
    assert "From the bundle: bin/kube-apiserver" in output, "the binaries came from the bundle"
    assert "From the bundle: bin/karpenter-kwok" in output, "Karpenter's too"
    assert "(Karpenter's CRDs)" in output, "and the module its CRDs are read from"
    assert f"From the bundle: vLLM {runtime.VLLM_VERSION}" in output, "the runtime, too"
    assert "\nA: " in output, "vLLM answered the demo's question"
    assert "smoke test passed" in output.lower(), output[-3000:]
