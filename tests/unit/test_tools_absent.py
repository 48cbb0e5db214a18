"""Without Go and without a cached build, the Go-built tools fail with what to install.

This is what a reader on a machine without Go (and without the release downloads) sees,
and it proves the unit tier's guard (tests/unit/conftest.py) holds.
"""

from __future__ import annotations

import pytest

from tutorial_lib.domain.flows import TUTORIAL_FLOWS
from tutorial_lib.errors import ToolError
from tutorial_lib.tools import binaries, lint, monitoring, netpol
from tutorial_lib.tools.manifests import overlay


@pytest.mark.parametrize("tool", binaries.GO_TOOLS, ids=lambda b: b.name)
def test_a_missing_tool_without_go_names_the_fix(tool):
    with pytest.raises(ToolError) as caught:
        binaries.tool(tool)
    assert "No Go toolchain on PATH" in caught.value.message
    assert "Install Go" in caught.value.hint
    assert not tool.path.exists()


def test_policy_verdicts_need_the_engine():
    with pytest.raises(ToolError, match="No Go toolchain"):
        netpol.verdicts(overlay("local"), TUTORIAL_FLOWS)


def test_rule_checks_need_promtool():
    with pytest.raises(ToolError, match="No Go toolchain"):
        monitoring.check_rules(monitoring.rule_groups())


def test_linting_needs_kube_score():
    with pytest.raises(ToolError, match="No Go toolchain"):
        lint.findings(overlay("local"))
