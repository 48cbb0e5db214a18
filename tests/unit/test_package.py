"""``import tutorial_lib as tl``: every name the stub promises, and nothing loaded before use."""

from __future__ import annotations

import subprocess
import sys

import tutorial_lib as tl


def test_every_exported_name_resolves():
    missing = [name for name in tl.__all__ if getattr(tl, name, None) is None]
    assert not missing
    assert set(tl.__all__) <= set(dir(tl))
    assert tl.prometheus.__name__ == "tutorial_lib.serving.promql", "an alias keeps its module"


def test_an_unknown_name_is_an_attribute_error():
    assert not hasattr(tl, "no_such_helper")


def test_importing_the_package_loads_no_client_library():
    code = "import sys, tutorial_lib; print(sorted({'kubernetes', 'pandas'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
