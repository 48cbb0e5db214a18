"""connect() explains a missing kubeconfig or an unknown context, with the fix."""

import pytest
import yaml

from tutorial_lib import kube


def test_missing_kubeconfig_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(kube.ClusterError) as error:
        kube.connect(context="eks")
    assert "nope.yaml" in error.value.message
    assert "python -m tutorial_lib.local up" in error.value.hint


def unreachable_kubeconfig(tmp_path) -> str:
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "real",
                "clusters": [{"name": "real", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "real", "user": {}}],
                "contexts": [{"name": "real", "context": {"cluster": "real", "user": "real"}}],
            }
        )
    )
    return str(config)


def test_unknown_context_is_reported_as_such(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", unreachable_kubeconfig(tmp_path))
    with pytest.raises(kube.ClusterError, match="typo"):
        kube.connect(context="typo")
    assert kube.connect(context="real").context == "real"


def test_cleanup_check_fails_loudly_when_the_cluster_cannot_be_asked(tmp_path, monkeypatch):
    """remaining() must not report "nothing left" because it could not look."""
    monkeypatch.setenv("KUBECONFIG", unreachable_kubeconfig(tmp_path))
    cluster = kube.connect(context="real")
    with pytest.raises(kube.ClusterError, match="Cannot read the current objects"):
        kube.remaining(cluster, cluster.overlay)
