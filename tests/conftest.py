"""One local cluster for the whole test run: reused when already up, else started and stopped.

Whether it was up is decided before the first test runs, not when the first fixture asks:
a notebook (nbmake runs them in the same session, in random order) starts the cluster
through ``tl.connect()`` on its own, and a cluster the run started must not outlive it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import tutorial_lib as tl
from tests.helpers import FIXTURE_LABEL, FIXTURE_LABEL_KEY
from tests.lanes import USES_THE_CLUSTER, lanes, share_out
from tutorial_lib.local import cluster
from tutorial_lib.workshop import rooms

_RUNNING_BEFORE = pytest.StashKey[bool]()


#: Fixtures that want the tutorial's vLLM Ready and leave it so (a test that restarts it waits
#: for it again).
READS_SERVING = {"serving", "gpu_node"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """In each lane: the tests that only read the running vLLM, the notebooks, the rest.

    A vLLM start costs half a minute here; interleaved with the notebooks and the tests that
    scale, delete or reconfigure the Deployment, nearly every reader paid one. The notebooks,
    and the browser tests that run them in JupyterLab, are the longest items: started early,
    the lanes end close together (``lanes.share_out``). The order inside each group stays
    pytest-randomly's (it shuffled before), so each group runs in a different order each time.
    """

    def group(item: pytest.Item) -> int:
        if READS_SERVING & set(getattr(item, "fixturenames", ())):
            return 0
        return 1 if item.path.suffix == ".ipynb" or "browser" in item.path.parts else 2

    items[:] = share_out(items, group, lanes())


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(USES_THE_CLUSTER & set(item.path.parts) for item in session.items):
        session.stash[_RUNNING_BEFORE] = cluster.status().healthy


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop a cluster this run started; leave one that was up before as it was."""
    if session.stash.get(_RUNNING_BEFORE, True) is False and cluster.status().healthy:
        cluster.down()


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[cluster.ClusterStatus]:
    status = cluster.up()
    sweep_leftovers()
    yield status


def sweep_leftovers() -> None:
    """Delete the fixture nodes and workshop rooms of a run that was killed before its teardown.

    Left standing, a spare GPU node takes the tutorial's vLLM pod or hides Karpenter's
    decisions from the next run's tests.
    """
    selector = f"{FIXTURE_LABEL_KEY}={FIXTURE_LABEL}"
    cluster.kubectl("delete", "node", "-l", selector, "--ignore-not-found")
    connection = tl.connect(local=True)
    if rooms.rooms(connection):
        rooms.delete(connection)
