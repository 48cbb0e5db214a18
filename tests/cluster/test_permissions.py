"""A user the cluster gives no rights: the real API server's 403, reported, never a crash.

A ServiceAccount without any RoleBinding, and a kubeconfig with its token: what a reader on
a shared cluster with too little RBAC has.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes import client

import tutorial_lib as tl
from tutorial_lib.kube.connection import from_kubeconfig
from tutorial_lib.local import paths


@pytest.fixture
def nobody(connection, namespace, tmp_path) -> tl.Connection:
    """A connection as ServiceAccount ``nobody``: authenticated, allowed nothing."""
    core = connection.core
    core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="nobody"))
    )
    token = core.create_namespaced_service_account_token(
        "nobody",
        namespace,
        client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[])),
    ).status.token
    config = yaml.safe_load(paths.kubeconfig_path().read_text())
    context = next(c for c in config["contexts"] if c["name"] == connection.context)
    context["context"]["user"] = "nobody"
    config["users"] = [{"name": "nobody", "user": {"token": token}}]
    config["contexts"] = [context]
    path = Path(tmp_path) / "nobody.yaml"
    path.write_text(yaml.safe_dump(config))
    return from_kubeconfig(path, connection.context, namespace=connection.namespace)


def test_a_refused_read_is_a_403_with_the_hint_to_check_rights(nobody):
    with pytest.raises(tl.ClusterError) as refused:
        tl.get(nobody, "service/vllm-service")
    assert refused.value.status == 403
    assert "system:serviceaccount:" in refused.value.message and "forbidden" in (
        refused.value.message
    )
    assert "kubectl auth can-i" in refused.value.hint


def test_preflight_without_rights_warns_that_it_could_not_look(nobody):
    report = tl.preflight(nobody)  # never raises
    looked = [f for f in report.findings if f.finding.startswith("Could not look")]
    assert looked, str(report)
    assert all(f.status == "warning" and "kubectl auth can-i" in f.fix for f in looked)
