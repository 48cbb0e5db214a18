"""Rooms on a local cluster whose vLLM runs on this machine's GPUs: no more than there are.

The review of the GPU runtime found a second room's pod failing to start (``NoneFree``):
each room's node offers a GPU to the scheduler, the bridge has only the real ones.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.helpers import H100, fake_nvidia_smi
from tutorial_lib.errors import ClusterError
from tutorial_lib.local import gpus, runtime
from tutorial_lib.workshop import rooms


class ReachedTheApi(Exception):
    """The stub cluster's answer: the rooms were not refused before they were made."""


def _cluster() -> SimpleNamespace:
    def call(*_args, **_kwargs):
        raise ReachedTheApi

    return SimpleNamespace(local=True, call=call, core=SimpleNamespace(list_namespace=None))


@pytest.fixture
def one_h100(tmp_path, monkeypatch):
    monkeypatch.setenv("VLLM_TUTORIAL_STATE", str(tmp_path / "state"))
    (tmp_path / "state").mkdir()
    fake_nvidia_smi(tmp_path, H100)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.delenv(gpus.SWITCH, raising=False)


def test_more_rooms_than_gpus_are_refused_before_anything_is_made(one_h100, monkeypatch):
    runtime.record_serving(runtime.Build.CUDA)
    with pytest.raises(ClusterError, match="1 room\\(s\\) could never start") as refused:
        rooms.create(_cluster(), ["attendee-01", "attendee-02"])
    assert "VLLM_TUTORIAL_GPU=off" in (refused.value.hint or "")
    monkeypatch.setenv(gpus.SWITCH, "off")  # the caller's own setting: the bridge's GPUs count
    with pytest.raises(ReachedTheApi):  # as many rooms as GPUs: made
        rooms.create(_cluster(), ["attendee-01"])


def test_the_cpu_stand_in_serves_any_number_of_rooms(one_h100):
    runtime.record_serving(runtime.Build.CPU)  # up ran with VLLM_TUTORIAL_GPU=off
    with pytest.raises(ReachedTheApi):
        rooms.create(_cluster(), ["attendee-01", "attendee-02"])
