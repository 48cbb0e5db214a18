"""PortForward reads kubectl's output: the port it picked, a port in use, silence.

A stand-in ``kubectl`` (a shell script) prints what the real one prints; the process must
be gone after ``close`` in every case.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tutorial_lib.errors import PortForwardError
from tutorial_lib.kube.portforward import PortForward


def fake_kubectl(tmp_path: Path, body: str) -> list[str]:
    """A kubectl that records its pid and arguments, then runs ``body``."""
    script = tmp_path / "kubectl"
    script.write_text(
        f'#!/bin/sh\necho $$ > "{tmp_path}/pid"\necho "$@" > "{tmp_path}/args"\n{body}\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return [str(script)]


def gone(tmp_path: Path) -> bool:
    """Whether the process the script ran as has ended and been reaped."""
    pid = int((tmp_path / "pid").read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.timeout(60)
def test_the_port_kubectl_picked_is_parsed_and_close_ends_it(tmp_path):
    kubectl = fake_kubectl(
        tmp_path,
        'echo "Forwarding from 127.0.0.1:43210 -> 8000"\n'
        'echo "Forwarding from [::1]:43210 -> 8000"\n'
        "exec sleep 300",
    )
    with PortForward(kubectl, "svc/vllm-service", 8000, timeout=20) as tunnel:
        assert tunnel.local_port == 43210
        assert tunnel.url == "http://127.0.0.1:43210"
        assert not gone(tmp_path)
    assert gone(tmp_path)
    # kubectl chooses the local port (":8000"), so nothing can take it between choice and use.
    args = (tmp_path / "args").read_text().split()
    assert args == [
        "port-forward",
        "-n",
        "ml-models",
        "--address",
        "127.0.0.1",
        "svc/vllm-service",
        ":8000",
    ]


@pytest.mark.timeout(60)
def test_a_port_in_use_is_named(tmp_path):
    kubectl = fake_kubectl(
        tmp_path,
        'echo "Unable to listen on port 8000: Listeners failed to create with the following '
        "errors: [unable to create listener: Error listen tcp4 127.0.0.1:8000: bind: address "
        'already in use]"\n'
        'echo "error: unable to listen on any of the requested ports: [{8000 8000}]"\n'
        "exit 1",
    )
    with pytest.raises(PortForwardError) as caught:
        PortForward(kubectl, "svc/vllm-service", 8000, local_port=8000, timeout=20).__enter__()
    assert "Local port 8000 is already in use" in caught.value.message
    assert ":8000" in caught.value.hint
    assert (tmp_path / "args").read_text().split()[-1] == "8000:8000"
    assert gone(tmp_path)


@pytest.mark.timeout(60)
def test_a_silent_kubectl_fails_after_the_timeout_and_is_ended(tmp_path):
    kubectl = fake_kubectl(tmp_path, "exec sleep 300")
    tunnel = PortForward(kubectl, "pod/vllm-0", 8000, namespace="other", timeout=1)
    with pytest.raises(PortForwardError) as caught, tunnel:
        pytest.fail("the tunnel opened without kubectl saying so")
    assert "no answer within 1 s" in caught.value.message
    assert "pod/vllm-0" in caught.value.message
    assert "kubectl get pods -n other" in caught.value.hint
    assert gone(tmp_path)


@pytest.mark.timeout(60)
def test_kubectls_own_error_is_shown(tmp_path):
    kubectl = fake_kubectl(
        tmp_path, 'echo "error: unable to forward port because pod is not running"; exit 1'
    )
    with pytest.raises(PortForwardError, match="pod is not running") as caught:
        PortForward(kubectl, "svc/vllm-service", 8000, timeout=20).__enter__()
    assert "already in use" not in caught.value.message
    assert gone(tmp_path)
