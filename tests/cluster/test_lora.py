"""The series' LoRA delivery on the local cluster when it fails: object store, init container.

The local-lora overlay runs in a namespace of the test's own, beside the tutorial's vLLM,
which stays as it is: no vLLM start here. With an object missing, the pod stays in
``Init:Error``, says why, and vLLM never starts; an init container's shell line is refused.
The delivery that works, and the adapters answering what they were taught, are notebook 10's
checks (docs/decisions.md, *The suite's budget*: a lesson's run is its test).
"""

from __future__ import annotations

import dataclasses

import pytest

import tutorial_lib as tl
from tutorial_lib.kube import objects
from tutorial_lib.tools import manifests


@pytest.fixture
def lora(connection, namespace):
    """A connection to the test's namespace, the adapters published for it."""
    room = dataclasses.replace(connection, namespace=namespace)
    published = tl.publish_adapters(room)
    assert sorted(published["object"].str.rsplit("/", n=1).str[1]) == [
        "adapter_config.json",
        "adapter_config.json",
        "adapter_model.safetensors",
        "adapter_model.safetensors",
    ]
    yield room
    tl.publish_adapters(room)  # whatever the test removed


def kubectl(room: tl.Connection, *args: str) -> str:
    """``kubectl -n <the test's namespace> ...``: its output, its errors too."""
    done = room.run_kubectl("-n", room.namespace, *args)
    return done.stdout + done.stderr


def deploy(room: tl.Connection) -> None:
    rendered = manifests.render(manifests.overlay("local-lora"), room.namespace)
    objects.apply_objects(room, rendered, "the local-lora overlay")


def test_a_missing_adapter_stops_the_pod_in_init_error_with_the_reason(lora):
    tl.publish_adapters(lora, files=["adapter_config.json"])  # the weights not in the bucket
    deploy(lora)
    with pytest.raises(tl.ClusterError) as failed:
        tl.wait_ready(lora, timeout=300)
    why = str(failed.value)
    assert "init container fetch-adapter exited with code 1" in why, why
    assert "HeadObject operation: Not Found" in why, why
    assert "kubectl logs -c fetch-adapter" in why, why
    listed = kubectl(lora, "get", "pods")
    assert "Init:Error" in listed, listed
    logged = kubectl(lora, "logs", "deploy/vllm", "-c", "vllm")
    assert "starting:" not in logged, f"vLLM started without its adapter: {logged}"


def test_an_init_container_runs_no_command_of_the_pods_on_the_host(lora, tmp_path):
    """The audit's attack, through an init container: a shell line of the pod author's."""
    marker = tmp_path / "owned"
    rendered = manifests.render(manifests.overlay("local-lora"), lora.namespace)
    deployment = next(o for o in rendered if o["kind"] == "Deployment")
    init = deployment["spec"]["template"]["spec"]["initContainers"][0]
    init["args"] = [f"set -e\nid > {marker}\n"]
    objects.apply_objects(lora, rendered, "the attack")
    with pytest.raises(tl.ClusterError) as refused:
        tl.wait_ready(lora, timeout=120)
    why = str(refused.value)
    assert "RunContainerError" in why and "refused by the local cluster" in why, why
    assert "shell syntax (>)" in why, why
    assert not marker.exists(), "the pod's command ran on the host"
