"""The state folder is the tutorial's alone, and one process at a time changes the cluster."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tutorial_lib.errors import LocalClusterError
from tutorial_lib.local import cluster, ownership, paths


@pytest.fixture
def state(tmp_path, monkeypatch):
    folder = tmp_path / "state"
    monkeypatch.setenv("VLLM_TUTORIAL_STATE", str(folder))
    return folder


def test_a_folder_of_someone_elses_files_is_neither_claimed_nor_removed(state):
    state.mkdir()
    (state / "thesis.tex").write_text("years of work")
    with pytest.raises(LocalClusterError, match="holds files the tutorial did not make"):
        ownership.claim()
    with pytest.raises(LocalClusterError, match="the tutorial did not make it"):
        cluster.down(quiet=True)  # VLLM_TUTORIAL_STATE=$HOME, say
    assert (state / "thesis.tex").read_text() == "years of work"


def test_a_new_or_empty_folder_is_claimed_and_down_removes_it(state):
    assert ownership.claim() == state and (state / ownership.MARKER).exists()
    (state / "kubeconfig.yaml").write_text("")
    cluster.down(quiet=True)
    assert not state.exists()


def test_a_cluster_folder_from_before_the_marker_is_still_ours(state):
    (state / "kwok" / "clusters" / "vllm-tutorial").mkdir(parents=True)
    assert ownership.claim() == state


def as_nobody(*command: str) -> subprocess.CompletedProcess[str]:
    """``command`` as another Unix account (nobody), as an attendee's own login would run it."""
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    return subprocess.run([*nobody, *command], capture_output=True, text=True, check=False)


def test_another_account_reads_nothing_in_the_state_folder(monkeypatch):
    """A home folder is 0755 on Debian: the state folder itself has to shut others out."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("acting as another account needs root and setpriv (util-linux)")
    home = Path(tempfile.mkdtemp(dir="/tmp"))  # not pytest's tmp_path: that is 0700 already
    try:
        home.chmod(0o755)
        monkeypatch.setenv("VLLM_TUTORIAL_STATE", str(home / "vllm-tutorial"))
        folder = ownership.claim()
        key = folder / "kwok" / "clusters" / "vllm-tutorial" / "pki" / "admin.key"
        log = folder / "pods" / "ml-models" / "vllm-0" / "logs" / "vllm-0.log"
        for secret in (key, log):  # as kwokctl and the bridge write them: 0644 in 0755 folders
            secret.parent.mkdir(parents=True)
            secret.write_text("secret")
            secret.chmod(0o644)
        for attempt in (["cat", str(key)], ["cat", str(log)], ["ls", str(folder)]):
            done = as_nobody(*attempt)
            assert done.returncode != 0 and "Permission denied" in done.stderr, (attempt, done)
        assert as_nobody("ls", str(home)).returncode == 0, "the test's home must be readable"
    finally:
        shutil.rmtree(home)


HOLD = """
import sys, time
from tutorial_lib.local import ownership
with ownership.exclusive("test"):
    print("holding", flush=True)
    time.sleep(float(sys.argv[1]))
"""


def test_a_second_process_waits_for_the_lock_and_says_so(state):
    first = subprocess.Popen([sys.executable, "-c", HOLD, "2"], stdout=subprocess.PIPE, text=True)
    assert first.stdout is not None and first.stdout.readline() == "holding\n"
    began = time.monotonic()
    second = subprocess.run(
        [sys.executable, "-c", HOLD, "0"], capture_output=True, text=True, check=True
    )
    waited = time.monotonic() - began
    first.wait()
    assert "Another process is changing the local cluster; test waits" in second.stdout
    assert second.stdout.endswith("holding\n") and waited > 1  # not before the first let go
    assert paths.state_dir() == state and not state.exists(), "the lock lives beside the folder"
