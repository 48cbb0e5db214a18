"""A machine's NVIDIA GPUs back the local cluster's GPU node: found, counted, handed to pods.

``nvidia-smi`` here is a script that answers as the real one did on the lent H100 machine
(tests/helpers.py); the GPU tier (tests/gpu) runs the same code on a real GPU.
"""

from __future__ import annotations

import pytest
from kubernetes.client import (
    V1Container,
    V1ObjectMeta,
    V1Pod,
    V1PodSpec,
    V1ResourceRequirements,
)

from tests.helpers import H100, fake_nvidia_smi, metadata
from tutorial_lib import names
from tutorial_lib.local import admission, autoscaler, bridge, devices, gpus, runtime

TWO_H100 = f"{H100}\n{H100.replace('0, ', '1, ', 1)}"
OLD_DRIVER = "2, NVIDIA L4, 535.183.01, 23034, 8.9"


@pytest.fixture
def machine(monkeypatch, tmp_path):
    """This process sees an ``nvidia-smi`` that states the given GPUs."""

    def with_gpus(answer: str, code: int = 0) -> None:
        fake_nvidia_smi(tmp_path, answer, code)
        monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
        monkeypatch.delenv(gpus.SWITCH, raising=False)

    return with_gpus


def test_every_gpu_is_read_and_only_those_vllm_can_use_back_the_node(machine, monkeypatch):
    machine(f"{TWO_H100}\n{OLD_DRIVER}")
    found = gpus.detect()
    assert [(g.index, g.memory_mib, g.compute_capability) for g in found] == [
        (0, 81559, (9, 0)),
        (1, 81559, (9, 0)),
        (2, 23034, (8, 9)),
    ]
    assert found[0].product == "NVIDIA-H100-80GB-HBM3"
    assert [g.index for g in gpus.backing()] == [0, 1], "the L4's driver is too old for vLLM"
    assert runtime.Build.here() is runtime.Build.CUDA
    monkeypatch.setenv(gpus.SWITCH, "off")
    assert gpus.backing() == [] and runtime.Build.here() is runtime.Build.CPU


def test_a_driver_that_does_not_answer_leaves_the_cpu_stand_in(machine):
    machine("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver", 9)
    with pytest.raises(gpus.NoAnswer, match="couldn't communicate"):
        gpus.detect()
    assert gpus.backing() == []
    assert runtime.Build.here() is runtime.Build.CPU


@pytest.mark.parametrize(
    ("answer", "per_node", "limit", "product"),
    [
        (TWO_H100, "2", "2", "NVIDIA-H100-80GB-HBM3"),  # one node of both real GPUs
        (None, "1", "2", "NVIDIA-L4"),  # no GPU: the blog's node group of two L4s
    ],
)
def test_the_node_group_is_the_real_gpus_where_there_are_some(
    machine, monkeypatch, tmp_path, answer, per_node, limit, product
):
    if answer is None:
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no nvidia-smi
    else:
        machine(answer)
    (instance,) = autoscaler.instance_types()
    assert instance["resources"][names.GPU_RESOURCE] == per_node
    pool = next(o for o in autoscaler.nodepool() if o["kind"] == "NodePool")
    assert pool["spec"]["limits"][names.GPU_RESOURCE] == limit
    assert pool["spec"]["template"]["metadata"]["labels"]["nvidia.com/gpu.product"] == product


def test_each_pod_holds_its_gpus_until_it_gives_them_back():
    held = devices.Devices([1, 0])
    assert held.take("pod-a", 1) == [0]
    assert held.take("pod-a", 1) == [0], "a container's restart keeps the pod's GPU"
    assert held.take("pod-b", 1) == [1]
    with pytest.raises(devices.NoneFree, match="asks for 1 GPU"):
        held.take("pod-c", 1)
    held.give_back("pod-a")
    assert held.take("pod-c", 1) == [0]


def vllm_pod(gpu_limit: int | None) -> V1Pod:
    limits = {names.GPU_RESOURCE: str(gpu_limit)} if gpu_limit is not None else {}
    container = V1Container(
        name="vllm",
        image="vllm/vllm-openai:v0.26.0",
        command=["vllm", "serve"],
        args=["HuggingFaceTB/SmolLM2-135M-Instruct", "--port=8000"],
        resources=V1ResourceRequirements(limits=limits),
    )
    meta = V1ObjectMeta(name="vllm-0", namespace="ml-models", uid=f"uid-{gpu_limit}")
    return V1Pod(metadata=meta, spec=V1PodSpec(containers=[container]))


def cuda_runner(tmp_path, monkeypatch, pod: V1Pod, held: devices.Devices) -> bridge.PodRunner:
    monkeypatch.setenv("VLLM_TUTORIAL_STATE", str(tmp_path / "state"))
    cuda = runtime.Runtime(tmp_path / "venv", tmp_path / "hf", runtime.Build.CUDA)
    return bridge.PodRunner(None, pod, cuda, held)  # type: ignore[arg-type]  # no API calls


def test_the_cuda_build_sees_only_the_pods_gpu(tmp_path, monkeypatch):
    held = devices.Devices([0, 1])
    held.take("another pod", 1)
    runner = cuda_runner(tmp_path, monkeypatch, vllm_pod(1), held)
    launch = admission.admit(runner.spec, runner._files())
    env = runner._environment(launch, runner._visible_gpus())
    assert env["CUDA_VISIBLE_DEVICES"] == "1"
    assert env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID", "numbered as nvidia-smi numbers them"
    assert env["VLLM_USE_FLASHINFER_SAMPLER"] == "0", "this runtime has no FlashInfer"


def test_a_runtime_with_flashinfer_samples_with_it(tmp_path, monkeypatch):
    site = tmp_path / "venv" / "lib" / "python3.12" / "site-packages"
    info = site / "flashinfer_python-0.6.14.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(metadata("flashinfer-python", "0.6.14"))
    runner = cuda_runner(tmp_path, monkeypatch, vllm_pod(1), devices.Devices([0]))
    env = runner._environment(admission.admit(runner.spec, runner._files()), [0])
    assert "VLLM_USE_FLASHINFER_SAMPLER" not in env


def test_a_vllm_pod_that_asks_for_no_gpu_is_refused_by_the_cuda_build(tmp_path, monkeypatch):
    runner = cuda_runner(tmp_path, monkeypatch, vllm_pod(None), devices.Devices([0]))
    with pytest.raises(admission.Refused, match=f"asks for no {names.GPU_RESOURCE}"):
        runner._visible_gpus()
