"""``!kubectl`` in a notebook reaches the cluster ``tl.connect()`` chose, not KUBECONFIG's."""

from __future__ import annotations

import os
import subprocess

from tests.helpers import write_kubeconfig
from tutorial_lib.api import shell
from tutorial_lib.kube.connection import from_kubeconfig


def test_a_cells_kubectl_uses_the_connections_kubeconfig_and_context(tmp_path, monkeypatch):
    ours = write_kubeconfig(tmp_path / "ours.yaml", context="tutorial")
    elsewhere = write_kubeconfig(tmp_path / "elsewhere.yaml", context="production")
    monkeypatch.setenv("KUBECONFIG", str(elsewhere))  # the reader's own current context
    monkeypatch.setenv("PATH", os.environ["PATH"])  # restored after the test
    before = ours.read_text()

    shim = shell.kubectl_in_cells(from_kubeconfig(ours, "tutorial"))
    assert os.environ["PATH"].split(os.pathsep)[0] == str(shim.parent)
    # What `!kubectl config view --minify` in a cell runs: the shell finds the shim first.
    shown = subprocess.run(
        "kubectl config view --minify -o jsonpath='{.contexts[0].name}'",
        shell=True,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout == "tutorial"
    assert ours.read_text() == before, "the kubeconfig is read, never changed"
    assert oct(shim.parent.stat().st_mode & 0o777) == "0o700", "no other account reads it"
