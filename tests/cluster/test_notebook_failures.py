"""A notebook's checks fail when its step is broken: notebook 03 with the blog's 14 Gi."""

from __future__ import annotations

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

import tutorial_lib as tl
from tests.cluster.conftest import NOTEBOOKS, execute

NOTEBOOK = NOTEBOOKS / "03_deployment.ipynb"


@pytest.fixture
def connection(connection):
    yield connection
    tl.apply(connection, connection.overlay)  # the manifests' 12 Gi again


def test_deployment_notebook_fails_when_the_reader_keeps_the_blogs_14gi(connection, tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    fix = next(c for c in notebook.cells if "apply-fix" in c.metadata.get("tags", []))
    fix.source += "\ntl.set_resources(cluster, **BLOG_ORIGINAL)  # the reader keeps 14Gi"
    with pytest.raises(CellExecutionError) as failure:
        execute(notebook)
    message = str(failure.value)
    assert "ClusterError" in message and "cannot become Ready" in message
    assert "requests 14.00 GiB memory" in message
