"""What the bridge lets a pod run on the host: the manifests' vLLM, never anything else."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client

from tests.helpers import ROOT
from tutorial_lib.local import admission
from tutorial_lib.local.admission import PodFiles, Refused
from tutorial_lib.tools import manifests


def files(tmp_path: Path) -> PodFiles:
    return PodFiles(rootfs=tmp_path / "rootfs", mounts={"/tmp/huggingface": tmp_path / "cache"})


def container(args=(), command=None, env=None, memory=None) -> client.V1Container:
    return client.V1Container(
        name="vllm",
        image="vllm/vllm-openai:v0.26.0",
        command=command,
        args=list(args),
        env=[client.V1EnvVar(name=k, value=v) for k, v in (env or {}).items()],
        resources=client.V1ResourceRequirements(limits={"memory": memory} if memory else None),
    )


def rendered(overlay: str) -> client.V1Container:
    deployment = next(
        o
        for o in manifests.render(ROOT / "manifests" / "overlays" / overlay)
        if o["kind"] == "Deployment"
    )
    raw = deployment["spec"]["template"]["spec"]["containers"][0]
    return container(
        raw["args"],
        raw["command"],
        {e["name"]: e["value"] for e in raw["env"]},
        raw["resources"]["limits"]["memory"],
    )


@pytest.mark.parametrize("overlay", ["local", "local-gpu", "eks-l4"])
def test_the_manifests_are_admitted_with_their_paths_moved_into_the_pod(overlay, tmp_path):
    launch = admission.admit(rendered(overlay), files(tmp_path))
    assert launch.args[0] in ("HuggingFaceTB/SmolLM2-135M-Instruct", "TheBloke/Mistral-7B-v0.1-AWQ")
    assert "--gpu-memory-utilization=0.88" in launch.args
    assert launch.env["HF_HOME"] == str(tmp_path / "cache")  # the emptyDir's folder
    assert launch.env["HOME"] == str(tmp_path / "rootfs" / "home" / "vllm")


@pytest.mark.parametrize(
    ("command", "args"),
    [
        (["/bin/sh", "-c", "id > /tmp/owned"], []),
        (["sh"], ["-c", "id"]),
        (["python3", "-m", "vllm.entrypoints.openai.api_server"], []),
        (["vllm", "bench"], []),
        (["vllm"], ["chat"]),
        (["/usr/bin/vlm-serve"], []),
    ],
)
def test_a_command_other_than_vllm_serve_is_refused(command, args, tmp_path):
    with pytest.raises(Refused, match="runs only vLLM's server") as refused:
        admission.admit(container(args, command), files(tmp_path))
    assert "Check the container's command" in str(refused.value)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["m/x", "--trust-remote-code"], "--trust-remote-code is refused: it runs Python code"),
        (["m/x", "--trust_remote_code"], "--trust_remote_code is not one"),  # vLLM's spelling
        (["m/x", "--trust-remote"], "--trust-remote is not one"),  # argparse's abbreviation
        (["m/x", "--config", "/etc/cfg.yaml"], "--config is not one"),
        (["m/x", "--compilation-config.level=3"], "--compilation-config.level is not one"),
        (["m/x", "--enforce-eager=1"], "--enforce-eager takes no value"),
        (["m/x", "n/y"], "a second model"),
        (["~/.ssh"], "neither a Hugging Face id"),
        (["m/x", "--tokenizer", "a/../../b"], "neither a Hugging Face id"),
        (["m/x", "--lora-modules", "/adapters/a"], "takes name=path"),
        (["m/x", "--port"], "--port needs a value"),
    ],
)
def test_options_outside_the_allow_list_are_refused_by_name(args, named, tmp_path):
    with pytest.raises(Refused) as refused:
        admission.admit(container(args, ["vllm", "serve"]), files(tmp_path))
    assert named in str(refused.value)


@pytest.mark.parametrize(
    "name", ["LD_PRELOAD", "PYTHONPATH", "VLLM_PLUGINS", "VLLM_LOGGING_CONFIG_PATH"]
)
def test_environment_that_would_load_code_is_refused(name, tmp_path):
    with pytest.raises(Refused, match=f"the environment variable {name} is not one"):
        admission.admit(container(["m/x"], env={name: "/tmp/evil"}), files(tmp_path))


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("/root/.ssh", "rootfs/root/.ssh"),
        ("/../../etc/passwd", "rootfs/etc/passwd"),
        ("/tmp/huggingface/../../etc", "rootfs/etc"),
        ("/tmp/huggingface/hub", "cache/hub"),
        ("/tmp/huggingface", "cache"),
        ("/tmp/huggingfacex", "rootfs/tmp/huggingfacex"),
    ],
)
def test_every_path_lands_inside_the_pods_folder(path, where, tmp_path):
    launch = admission.admit(
        container(
            [path, "--download-dir", path, f"--lora-modules=a={path}"], env={"HF_HOME": path}
        ),
        files(tmp_path),
    )
    expected = str(tmp_path / where)
    assert launch.args == [expected, "--download-dir", expected, f"--lora-modules=a={expected}"]
    assert launch.env == {"HF_HOME": expected}


def test_the_blog_repositorys_command_form_is_the_same_launch(tmp_path):
    blog = admission.admit(container(["serve", "m/x", "--port=8000"], ["vllm"]), files(tmp_path))
    ours = admission.admit(container(["m/x", "--port=8000"], ["vllm", "serve"]), files(tmp_path))
    image = admission.admit(container(["m/x", "--port=8000"]), files(tmp_path))
    assert blog == ours == image


def test_several_adapters_and_served_names_take_their_values(tmp_path):
    launch = admission.admit(
        container(
            [
                "m/x",
                "--served-model-name",
                "a",
                "b",
                "--enable-lora",
                "--lora-modules",
                "one=/tmp/huggingface/one",
                "two=/tmp/huggingface/two",
            ]
        ),
        files(tmp_path),
    )
    cache = tmp_path / "cache"
    assert launch.args[-2:] == [f"one={cache / 'one'}", f"two={cache / 'two'}"]
    assert launch.args[1:4] == ["--served-model-name", "a", "b"]


def test_a_kv_cache_larger_than_the_memory_limit_is_refused(tmp_path):
    big = container(["m/x"], env={"VLLM_CPU_KVCACHE_SPACE": "12"}, memory="12Gi")
    with pytest.raises(Refused, match=r"12 GiB of KV cache does not fit the memory limit of 12.00"):
        admission.admit(big, files(tmp_path))
    small = container(["m/x"], env={"VLLM_CPU_KVCACHE_SPACE": "1"}, memory="12Gi")
    assert admission.admit(small, files(tmp_path)).env["VLLM_CPU_KVCACHE_SPACE"] == "1"
