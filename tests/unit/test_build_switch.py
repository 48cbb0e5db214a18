"""Switching a running local cluster between the CPU stand-in and this machine's GPU.

Only the ``up`` command switches (``cluster.up(switch_build=True)``): every notebook's
``connect`` runs ``up`` too, and a kernel started with another ``VLLM_TUTORIAL_GPU`` must
not move every room's vLLM onto another build (a review of the GPU runtime found it did).
"""

from __future__ import annotations

import pytest

from tests.helpers import H100, fake_nvidia_smi
from tutorial_lib.local import cluster, daemons, gpus, runtime


@pytest.fixture
def calls(tmp_path, monkeypatch) -> list[str]:
    """A machine with an H100; what the switch stops, starts and installs, in order."""
    monkeypatch.setenv("VLLM_TUTORIAL_STATE", str(tmp_path / "state"))
    (tmp_path / "state").mkdir()
    fake_nvidia_smi(tmp_path, H100)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.delenv(gpus.SWITCH, raising=False)
    done: list[str] = []
    monkeypatch.setattr(daemons.Daemon, "stop", lambda self, _t: done.append(f"stop {self.name}"))
    monkeypatch.setattr(daemons.Daemon, "start", lambda self: done.append(f"start {self.name}"))
    monkeypatch.setattr(daemons.Daemon, "pid", lambda self: None)
    monkeypatch.setattr(runtime, "ensure_runtime", lambda build: done.append(f"install {build}"))
    return done


def test_up_switches_a_cpu_cluster_to_the_gpu_and_records_it_before_the_bridge_starts(calls):
    runtime.record_serving(runtime.Build.CPU)  # up ran with VLLM_TUTORIAL_GPU=off
    cluster._switch_build()
    assert calls == [
        "install Build.CUDA",
        "stop runtime-bridge",
        "start runtime-bridge",
        "stop karpenter",
        "start karpenter",
    ]
    assert runtime.serving() is runtime.Build.CUDA


def test_nothing_restarts_when_the_build_is_the_one_serving(calls, monkeypatch):
    runtime.record_serving(runtime.Build.CUDA)
    cluster._switch_build()
    monkeypatch.setenv(gpus.SWITCH, "off")
    runtime.record_serving(runtime.Build.CPU)
    cluster._switch_build()
    assert calls == []
