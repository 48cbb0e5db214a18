"""The local cluster's background processes: runtime bridge, monitoring, autoscaler, S3 store.

Each runs its module's ``main()`` in its own session, with a pid file and a log in the
state dir and the marker variable that ``down`` looks for.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tutorial_lib.errors import LocalClusterError
from tutorial_lib.local import paths
from tutorial_lib.tools.progress import tail

#: Set on every daemon and inherited by everything it starts; ``down`` finds them by it.
OWNER_ENV = "VLLM_TUTORIAL_OWNER"
#: Set, in addition, on the containers the runtime bridge starts (and their children), so a
#: new bridge stops the containers of a crashed one and nothing else.
CONTAINER_ENV = "VLLM_TUTORIAL_CONTAINER"


def die_with_parent() -> None:
    """In a child (``preexec_fn``): SIGKILL when its daemon dies, so a crash orphans nothing."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if "zombie" not in _proc_state(pid):
        return Path(f"/proc/{pid}").exists()
    # A zombie main thread whose other threads still run is a program still shutting down
    # (a Go server finishing its graceful stop): its ports are still open.
    try:
        return len(os.listdir(f"/proc/{pid}/task")) > 1
    except OSError:
        return False


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].splitlines()[0].lower()
    except (OSError, IndexError):
        return ""


def until_sigterm(run: Callable[[threading.Event], None]) -> None:
    """A daemon's ``main``: log to its log file, and ``run`` until SIGTERM sets the event."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    run(stopping)


def end_child(child: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Stop a program a daemon runs (Prometheus, Karpenter): SIGTERM, SIGKILL after ``grace``."""
    child.terminate()
    try:
        child.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        child.kill()


#: The package whose code the daemons run: a change to it makes a running daemon stale.
PACKAGE = Path(__file__).resolve().parents[1]


def code_stamp(package: Path = PACKAGE) -> str:
    """A digest of the package's Python files and of the environment that would run them.

    One venv running the same code gives the same stamp, by ``python`` or ``python3``
    (``sys.prefix``); a change to any module (a ``git pull``) or another venv (another clone)
    gives another.
    """
    digest = hashlib.sha256(sys.prefix.encode())
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Daemon:
    """A long-running helper process of the local cluster."""

    name: str
    module: str

    @property
    def pid_file(self) -> Path:
        return paths.state_dir() / f"{self.name}.pid"

    @property
    def log(self) -> Path:
        return paths.state_dir() / f"{self.name}.log"

    @property
    def stamp_file(self) -> Path:
        """The ``code_stamp`` of the code it was started with."""
        return paths.state_dir() / f"{self.name}.code"

    def stale(self) -> bool:
        """Running, but from code that has changed since it started."""
        if self.pid() is None:
            return False
        try:
            return self.stamp_file.read_text() != code_stamp()
        except OSError:
            return True

    def pid(self) -> int | None:
        """The running daemon's pid, or None (a stale pid file may name a reused pid)."""
        try:
            pid = int(self.pid_file.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        return pid if self.module.encode() in cmdline and pid_alive(pid) else None

    def start(self) -> None:
        """Start it in the background, unless it runs already."""
        if self.pid() is not None:
            return
        env = dict(os.environ) | {OWNER_ENV: str(paths.state_dir())}
        with self.log.open("ab") as out:
            proc = subprocess.Popen(
                # Not ``-m``: the package imports the module first, and runpy would run it twice.
                [sys.executable, "-c", f"from {self.module} import main; main()"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write_text(str(proc.pid))
        self.stamp_file.write_text(code_stamp())
        time.sleep(1)
        if proc.poll() is not None:
            raise LocalClusterError(f"The {self.name} exited at once. Its log:\n{tail(self.log)}")

    def stop(self, terminate: Callable[[list[int], float], None], grace: float = 30.0) -> None:
        pid = self.pid()
        if pid is not None:
            terminate([pid], grace)
        self.pid_file.unlink(missing_ok=True)
        self.stamp_file.unlink(missing_ok=True)


BRIDGE = Daemon("runtime-bridge", "tutorial_lib.local.bridge")
MONITORING = Daemon("monitoring", "tutorial_lib.local.monitoring")
KARPENTER = Daemon("karpenter", "tutorial_lib.local.autoscaler")
OBJECT_STORE = Daemon("object-store", "tutorial_lib.local.object_store")
