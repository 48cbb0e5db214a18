"""The tutorial's patches of upstream modules: applied exactly, or not at all."""

from __future__ import annotations

import pytest

from tests.unit.test_gomodules import MODULE, VERSION, h1, served
from tests.unit.test_gomodules import proxy as proxy  # the fixture: a local module proxy
from tutorial_lib.errors import ToolError
from tutorial_lib.tools.gopatch import Patch

FILES = {"go.mod": "module x\n", "server.go": 'listen(":%d", port)\nserve()\n'}


def patch(old: str) -> Patch:
    return Patch(
        module=MODULE,
        version=VERSION,
        h1=h1(FILES),
        edits={"server.go": ((old, '"127.0.0.1:%d"'),)},
        added={"extra.go": "package x\n"},
    )


def test_the_module_is_unpacked_patched_and_extended(proxy, tmp_path):
    served(proxy, FILES)
    patch('":%d"').apply(tmp_path / "src")
    assert (tmp_path / "src" / "server.go").read_text() == 'listen("127.0.0.1:%d", port)\nserve()\n'
    assert (tmp_path / "src" / "extra.go").read_text() == "package x\n"
    assert (tmp_path / "src" / "go.mod").read_text() == "module x\n"


@pytest.mark.parametrize("old", ['"0.0.0.0:%d"', "s"], ids=["gone", "ambiguous"])
def test_a_patch_that_no_longer_fits_stops_the_build(proxy, tmp_path, old):
    served(proxy, FILES)
    with pytest.raises(ToolError, match=r"no longer fits server\.go") as stopped:
        patch(old).apply(tmp_path / "src")
    assert "nothing was built" in stopped.value.hint


def test_a_changed_patch_is_cached_under_another_name():
    """The binary's cache name follows the patch's text: a changed patch is built again."""
    assert patch('":%d"').label == patch('":%d"').label
    assert patch('":%d"').label != patch('"0.0.0.0:%d"').label
    assert patch('":%d"').label.startswith("+tutorial.")
