"""One local cluster for the whole test run: reused when already up, else started and stopped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tutorial_lib.local import cluster


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[cluster.ClusterStatus]:
    was_running = cluster.status().healthy
    status = cluster.up()
    yield status
    if not was_running:
        cluster.down()
