"""When a running daemon counts as stale: its code, not its age."""

from __future__ import annotations

from tutorial_lib.local import daemons


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
