"""``binaries.ensure``: the missing binaries obtained two at a time, the present ones left."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tutorial_lib.errors import ToolError
from tutorial_lib.tools import binaries
from tutorial_lib.tools.binaries import Binary


@pytest.fixture(autouse=True)
def go_on_path(monkeypatch):
    """The builds below are fakes; ``_obtain`` only asks whether Go could build."""
    monkeypatch.setattr(binaries.shutil, "which", lambda name: f"/usr/bin/{name}")


def test_two_missing_binaries_are_built_at_the_same_time():
    both_building = threading.Barrier(2, timeout=10)  # one build at a time would break it

    def build(dest: Path) -> None:
        both_building.wait()
        dest.write_text("built")

    wanted = [Binary("first", "v1", build), Binary("second", "v1", build)]
    found = binaries.ensure(wanted, at_once=2)
    assert list(found) == ["first", "second"]
    assert all(path.read_text() == "built" for path in found.values())


def test_a_present_binary_is_not_built_again_and_a_failed_build_is_raised():
    def fail(dest: Path) -> None:
        raise ToolError("the build failed", "read its log")

    present = Binary("present", "v1", fail)
    present.path.parent.mkdir(parents=True, exist_ok=True)
    present.path.write_text("cached")
    assert binaries.ensure([present], at_once=2) == {"present": present.path}
    with pytest.raises(ToolError, match="the build failed"):
        binaries.ensure([present, Binary("broken", "v1", fail)], at_once=2)
    assert not Binary("broken", "v1", fail).path.exists(), "no half-made binary takes the name"


def test_a_family_is_built_one_after_the_other_beside_the_others():
    """Two builds of one Go module at once would both compile the packages they share."""
    running: set[str] = set()
    seen_together: list[set[str]] = []
    lock = threading.Lock()
    other_started = threading.Event()

    def build(name: str):
        def run(dest: Path) -> None:
            with lock:
                running.add(name)
                seen_together.append(set(running))
            if name == "other":
                other_started.set()
            else:
                other_started.wait(10)  # the family waits for the other build to run beside
            with lock:
                running.discard(name)
            dest.write_text("built")

        return run

    wanted = [
        Binary("server", "v1", build("server"), family="module"),
        Binary("client", "v1", build("client"), family="module"),
        Binary("other", "v1", build("other")),
    ]
    found = binaries.ensure(wanted, at_once=2)
    assert list(found) == ["server", "client", "other"]
    assert not any({"server", "client"} <= together for together in seen_together), seen_together
    assert any({"server", "other"} <= together for together in seen_together), seen_together
