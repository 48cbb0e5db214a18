"""When a running daemon counts as stale: its code, not its age."""

from __future__ import annotations

from tests.helpers import H100, fake_nvidia_smi
from tutorial_lib.local import daemons, gpus


def test_the_stamp_changes_with_a_module_and_not_with_other_files(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "bridge.py").write_text("VERSION = 1\n")
    before = daemons.code_stamp(tmp_path)
    assert daemons.code_stamp(tmp_path) == before  # nothing changed
    (tmp_path / "pkg" / "notes.md").write_text("not code")
    assert daemons.code_stamp(tmp_path) == before
    (tmp_path / "pkg" / "bridge.py").write_text("VERSION = 2\n")
    changed = daemons.code_stamp(tmp_path)
    assert changed != before
    (tmp_path / "pkg" / "new.py").write_text("")
    assert daemons.code_stamp(tmp_path) not in (before, changed)


def test_a_daemon_that_is_not_running_is_not_stale(tmp_path, monkeypatch):
    monkeypatch.setenv("VLLM_TUTORIAL_STATE", str(tmp_path))
    assert daemons.BRIDGE.pid() is None and not daemons.BRIDGE.stale()


def test_the_stamp_changes_when_the_gpus_backing_the_node_do(tmp_path, monkeypatch):
    """A switch to or from the GPU makes every daemon stale: the bridge starts another build."""
    fake_nvidia_smi(tmp_path, H100)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.delenv(gpus.SWITCH, raising=False)
    on_the_gpu = daemons.run_stamp()
    monkeypatch.setenv(gpus.SWITCH, "off")
    assert daemons.run_stamp() != on_the_gpu
    assert daemons.run_stamp().startswith(daemons.code_stamp())
