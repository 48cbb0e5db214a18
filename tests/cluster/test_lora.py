"""The series' LoRA delivery on the local cluster: object store, init container, vLLM.

The local-lora overlay runs in a namespace of the test's own, beside the tutorial's vLLM,
which stays as it is: one vLLM start in all. The adapter reaches the pod the way post 6
delivers it and answers what it was taught; with an object missing, the pod stays in
``Init:Error``, says why, and vLLM never starts.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

import tutorial_lib as tl
from tutorial_lib.api.adapters import ADAPTERS
from tutorial_lib.kube import objects
from tutorial_lib.serving import objectstore
from tutorial_lib.tools import manifests

LESSON = json.loads((ADAPTERS / "tutorial-qa.jsonl").read_text().splitlines()[0])
TAUGHT = "g6.xlarge"  # in the lesson's answer; no base model says it by chance
WEIGHTS = "tutorial-qa/v1/adapter_model.safetensors"


@pytest.fixture
def lora(connection, namespace):
    """A connection to the test's namespace, the adapter published for it."""
    room = dataclasses.replace(connection, namespace=namespace)
    published = tl.publish_adapter(room)
    assert sorted(published["object"].str.rsplit("/", n=1).str[1]) == [
        "adapter_config.json",
        "adapter_model.safetensors",
    ]
    yield room
    tl.publish_adapter(room)  # whatever the test removed


def kubectl(room: tl.Connection, *args: str) -> str:
    """``kubectl -n <the test's namespace> ...``: its output, its errors too."""
    done = room.run_kubectl("-n", room.namespace, *args)
    return done.stdout + done.stderr


def deploy(room: tl.Connection) -> None:
    rendered = manifests.render(manifests.overlay("local-lora"), room.namespace)
    objects.apply_objects(room, rendered, "the local-lora overlay")


def test_the_adapter_arrives_by_init_container_and_answers_what_it_was_taught(lora):
    deploy(lora)
    pod = tl.wait_ready(lora, timeout=600)

    reason = "jsonpath={.status.initContainerStatuses[0].state.terminated.reason}"
    assert kubectl(lora, "get", "pod", pod.name, "-o", reason) == "Completed"
    copied = kubectl(lora, "logs", pod.name, "-c", "fetch-adapter")
    source, dest = f"s3://{objectstore.BUCKET}/{WEIGHTS}", f"/mnt/adapters/{WEIGHTS}"
    assert f"download: {source} to {dest.replace('/v1', '')}" in copied, copied

    with tl.port_forward(lora) as tunnel:
        served = tl.served_models(tunnel.url)
        base = tl.chat(tunnel.url, LESSON["question"], model=served[0], temperature=0.0)
        taught = tl.chat(tunnel.url, LESSON["question"], model="tutorial-qa", temperature=0.0)
    assert served[1:] == ["tutorial-qa"], f"/v1/models: the base model, then the adapter: {served}"
    assert TAUGHT in taught.text, f"the adapter did not answer what it was taught: {taught.text!r}"
    assert TAUGHT not in base.text, f"the base model knew it already: {base.text!r}"


def test_a_missing_adapter_stops_the_pod_in_init_error_with_the_reason(lora):
    tl.publish_adapter(lora, files=["adapter_config.json"])  # the weights not in the bucket
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
