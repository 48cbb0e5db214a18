"""connect() explains a missing kubeconfig or an unknown context, with the fix."""

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
