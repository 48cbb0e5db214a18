"""Long subprocesses: their output kept in a log, their failures and hangs named."""

from __future__ import annotations

import sys

import pytest

from tutorial_lib.errors import ToolError
from tutorial_lib.local import cluster
from tutorial_lib.tools.progress import run_logged


def test_a_command_that_never_ends_is_stopped_with_its_log(tmp_path):
    log = tmp_path / "step.log"
    code = "import time; print('retrying', flush=True); time.sleep(60)"
    with pytest.raises(ToolError, match="did not finish within 1 s") as stopped:
        run_logged([sys.executable, "-c", code], log=log, desc="A step", timeout=1)
    assert "retrying" in str(stopped.value), "the last lines of the log come with the error"


def test_a_failure_names_the_exit_code_and_the_log(tmp_path):
    log = tmp_path / "step.log"
    with pytest.raises(ToolError, match=r"A step failed \(exit code 3\)") as failed:
        run_logged([sys.executable, "-c", "raise SystemExit(3)"], log=log, desc="A step")
    assert str(log) in str(failed.value)


def test_a_component_that_exits_at_start_is_named_with_its_reason(tmp_path):
    """The kube-apiserver's own line on a machine without a default route (seen offline)."""
    (tmp_path / "kube-apiserver.log").write_text(
        "W1201 17:11:59.338364   23438 options.go:369] No CIDR for service cluster IPs.\n"
        'E1201 17:11:59.338576   23438 run.go:72] "command failed" err="Unable to find '
        'suitable network address.error=\'no default routes found in \\"/proc/net/route\\"\'"\n'
    )
    (tmp_path / "kwok-controller.log").write_text('{"level":"ERROR","msg":"Failed to list"}\n')
    [line] = cluster._fatal_lines(tmp_path)
    assert line.startswith('kube-apiserver: "Unable to find suitable network address')
