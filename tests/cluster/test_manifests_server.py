"""Every overlay is accepted by the real API server; its errors name the field."""

from __future__ import annotations

import pytest
import yaml

import tutorial_lib as tl
from tests.helpers import OVERLAY_KINDS

MANIFESTS = tl.manifests.ROOT


@pytest.fixture
def connection(connection) -> tl.Connection:
    """The namespace exists, as a dry run of the Deployment needs it."""
    tl.apply(connection, MANIFESTS / "base" / "namespace.yaml")
    return connection


@pytest.mark.parametrize("overlay", tl.manifests.OVERLAYS)
def test_server_side_dry_run_accepts_the_overlay(connection, overlay):
    table = tl.apply(connection, MANIFESTS / "overlays" / overlay, dry_run=True)
    assert sorted(table["kind"]) == OVERLAY_KINDS


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("spec", "replicas"), "one", "spec.replicas"),
        (("spec", "template", "spec", "containers", 0, "resourcez"), {}, "resourcez"),
    ],
)
def test_server_names_the_wrong_field(connection, tmp_path, path, value, field):
    deployment = yaml.safe_load((MANIFESTS / "base" / "deployment.yaml").read_text())
    target = deployment
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    broken = tmp_path / "deployment.yaml"
    broken.write_text(yaml.safe_dump(deployment))
    with pytest.raises(tl.ClusterError, match=field) as error:
        tl.apply(connection, broken, dry_run=True)
    assert "fix it in the YAML" in str(error.value)
