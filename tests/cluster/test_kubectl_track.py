"""docs/kubectl-track.md as a reader runs it: every bash block, in order, in one shell.

The reader on their own cluster has kubectl and curl, not the tutorial's library; the track
is the tutorial in those. Run here against the lane's local cluster, from a folder that
holds only the repository's ``manifests`` and ``.venv`` (as its root would), so a command
that fails, a flag kubectl no longer takes or a check of the track's own (the 401 without
the key, the answer that survives the scale to zero) stops the test as it would stop the
reader.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import tutorial_lib as tl
from tutorial_lib.local import paths

ROOT = Path(__file__).resolve().parents[2]
TRACK = ROOT / "docs" / "kubectl-track.md"


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", text, re.S | re.M)


def two_free_ports() -> int:
    """A port that is free, with the next one free too (the track forwards to both)."""
    while True:
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            with socket.socket() as second, contextlib.suppress(OSError):
                second.bind(("127.0.0.1", port + 1))
                return port


def test_the_kubectl_track_runs_from_start_to_end(connection, tmp_path):
    tl.reset(connection)  # a reader's cluster before the track: none of the tutorial's objects
    for name in ("manifests", ".venv"):
        (tmp_path / name).symlink_to(ROOT / name)
    script = "set -euo pipefail\n" + "\n".join(bash_blocks(TRACK.read_text()))
    env = {
        **os.environ,
        "KUBECONFIG": str(paths.kubeconfig_path()),
        "LOCAL_PORT": str(two_free_ports()),
    }
    shell = subprocess.Popen(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its background port-forwards go with it
    )
    try:
        output, _ = shell.communicate(timeout=1200)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGKILL)
    assert shell.returncode == 0, f"the track stopped ({shell.returncode}):\n{output[-4000:]}"
    assert 'secret "vllm-api-key" not found' in output, output
    assert "without the key: 401" in output, output
    assert '"finish_reason": "length"' in output, output
    assert not (tmp_path / "my-overlay").exists(), "the track's clean-up left its overlay"
