"""connect() explains a missing kubeconfig or an unknown context, and knows the local cluster."""

import dataclasses
import os

import pytest

import tutorial_lib as tl
from tests.helpers import write_kubeconfig
from tutorial_lib.api import connect as connect_module
from tutorial_lib.errors import ClusterError
from tutorial_lib.kube.objects import remaining


@pytest.fixture
def no_local_cluster(monkeypatch):
    """Naming a context must never start the local cluster."""

    def refuse(*args, **kwargs):
        raise AssertionError("connect() started the local cluster")

    monkeypatch.setattr(connect_module.local_cluster, "up", refuse)
    monkeypatch.setattr(connect_module.local_cluster, "status", refuse)


@pytest.fixture
def kubeconfig(tmp_path, monkeypatch):
    path = write_kubeconfig(tmp_path / "config.yaml")
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path


def test_missing_kubeconfig_names_the_fix(tmp_path, monkeypatch, no_local_cluster):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(ClusterError) as error:
        tl.connect(context="eks")
    assert "nope.yaml" in error.value.message
    assert "python -m tutorial_lib.local up" in error.value.hint


def test_a_kubeconfig_that_is_not_yaml_is_named_with_the_line(
    tmp_path, monkeypatch, no_local_cluster
):
    broken = tmp_path / "config.yaml"
    broken.write_text("apiVersion: v1\nclusters: [\n  - bad\n")
    monkeypatch.setenv("KUBECONFIG", str(broken))
    with pytest.raises(ClusterError) as error:
        tl.connect(context="eks")
    assert "config.yaml" in error.value.message and "line 3" in error.value.message
    assert "\n" not in error.value.message, "one line"


def test_unknown_context_is_reported_as_such(kubeconfig, no_local_cluster):
    with pytest.raises(ClusterError, match="typo"):
        tl.connect(context="typo")
    cluster = tl.connect(context="real")
    assert cluster.context == "real" and not cluster.local
    assert cluster.kubeconfig == kubeconfig


def test_the_environment_variable_names_the_readers_context(
    kubeconfig, monkeypatch, no_local_cluster
):
    monkeypatch.setenv(connect_module.CLUSTER_ENV, "real")
    cluster = tl.connect()
    assert cluster.context == "real" and not cluster.local
    assert cluster.overlay.name == "eks-l4", "a cluster of one's own gets the blog's overlay"
    assert cluster.namespace == "ml-models"


def test_cleanup_check_fails_loudly_when_the_cluster_cannot_be_asked(unreachable):
    """remaining() must not report "nothing left" because it could not look."""
    with pytest.raises(ClusterError, match="Cannot read the current objects"):
        remaining(unreachable, unreachable.overlay)


def test_a_kubeconfig_of_ones_own_for_the_local_cluster_is_the_local_cluster(
    tmp_path, monkeypatch, no_local_cluster
):
    """A workshop attendee's token for the local cluster: its Prometheus and overlay too."""
    monkeypatch.setenv("VLLM_TUTORIAL_STATE", str(tmp_path / "state"))
    local = connect_module.paths.kubeconfig_path()
    local.parent.mkdir(parents=True)
    write_kubeconfig(local, server="https://127.0.0.1:32764", context="kwok-vllm-tutorial")
    mine = write_kubeconfig(tmp_path / "attendee.yaml", server="https://127.0.0.1:32764/")
    monkeypatch.setenv("KUBECONFIG", str(mine))
    cluster = tl.connect(context="real", namespace="attendee-01")
    assert cluster.local and cluster.kubeconfig == mine and cluster.namespace == "attendee-01"
    assert cluster.prometheus_url == connect_module.monitoring.url()
    assert cluster.overlay.name == "local"
    runtime = connect_module.runtime
    complete = lambda build: runtime.Runtime(tmp_path, tmp_path, build)  # noqa: E731
    monkeypatch.setattr(runtime, "installed", complete)
    runtime.record_serving(runtime.Build.CUDA)  # what a bridge on a GPU machine notes
    on_a_gpu = tl.connect(context="real", namespace="attendee-01")
    assert on_a_gpu.overlay.name == "local-gpu", "the bridge serves from this machine's GPU"
    repo = connect_module.blog_model.repo(tmp_path)  # the runtime's hf_home
    (repo / "snapshots" / "c0ffee").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("c0ffee")
    for name in ("config.json", "model.safetensors"):
        (repo / "snapshots" / "c0ffee" / name).write_text("{}")
    blogs = tl.connect(context="real", namespace="attendee-01")
    assert blogs.overlay.name == "eks-l4", "the blog's model downloaded: its manifests unchanged"
    monkeypatch.setenv(connect_module.blog_model.SWITCH, "off")
    switched = tl.connect(context="real", namespace="attendee-01")
    assert switched.overlay.name == "local-gpu", "VLLM_TUTORIAL_BLOG_MODEL=off: the stand-in"
    elsewhere = write_kubeconfig(tmp_path / "eks.yaml", server="https://eks.example:443")
    monkeypatch.setenv("KUBECONFIG", str(elsewhere))
    assert not tl.connect(context="real").local


def test_a_room_of_another_accounts_local_cluster_is_refused_with_the_reason(
    tmp_path, monkeypatch, no_local_cluster
):
    """The audit's H2: another account's notebooks took the local room for EKS, silently."""
    mine = write_kubeconfig(tmp_path / "attendee.yaml", server="https://127.0.0.1:32764/")
    monkeypatch.setenv("KUBECONFIG", str(mine))
    monkeypatch.setenv(connect_module.LOCAL_OWNER_ENV, str(os.getuid() + 1))
    with pytest.raises(ClusterError, match="local cluster of another Unix account") as refused:
        tl.connect(context="real", namespace="attendee-01")
    assert "docs/instructors.md" in (refused.value.hint or "")
    monkeypatch.setenv(connect_module.LOCAL_OWNER_ENV, str(os.getuid()))  # the owner's own
    assert tl.connect(context="real", namespace="attendee-01").namespace == "attendee-01"


def test_applying_only_the_namespace_in_a_room_asks_the_server_nothing(unreachable):
    """Notebook 02 applies namespace.yaml; in a room that is nothing to do, not an error."""
    room = dataclasses.replace(unreachable, namespace="attendee-01")
    namespace_only = tl.manifests.ROOT / "base" / "namespace.yaml"
    assert tl.apply(room, namespace_only).empty
    assert tl.delete(room, namespace_only).empty
    with pytest.raises(ClusterError):  # in ml-models it is applied, and the server is asked
        tl.apply(unreachable, namespace_only)
