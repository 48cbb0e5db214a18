"""Driving JupyterLab in a browser the way a reader does: open a notebook, Run All, read it.

Everything here goes through what is on the screen (menus, the status bar, the cells'
prompts and outputs), never through the kernel's API, so a test sees what a reader sees.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nbformat
import psutil
from playwright.sync_api import Locator, Page

from tests.helpers import ROOT
from tutorial_lib.api import solutions

#: What JupyterLab's status bar says about the project's kernel once it is ready.
KERNEL_IDLE = "Python 3 (ipykernel) | Idle"

#: Chromium from the system, told not to reach out to the internet on its own (updates,
#: sync, first-run pages, field trials); QUIC off so nothing tries UDP. GPU off: headless.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
]

#: JupyterLab options that keep a test run offline and private: no news feed, no update
#: check, no extension manager asking PyPI, settings and workspaces of its own.
OFFLINE_LAB = [
    "--no-browser",
    "--ServerApp.ip=127.0.0.1",
    "--ServerApp.port_retries=0",
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
]


def chromium() -> str | None:
    """The system's Chromium (Debian's package installs /usr/bin/chromium)."""
    return (
        os.environ.get("VLLM_TUTORIAL_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Lab:
    """A JupyterLab started by ``make lab`` on a copy of notebooks/."""

    process: subprocess.Popen[bytes]
    url: str
    token: str
    root: Path
    log: Path

    def address(self, path: str) -> str:
        """The page of ``path`` (relative to the served folder), in a fresh workspace."""
        return f"{self.url}/lab/tree/{path}?reset&token={self.token}"

    def api(self, path: str) -> Any:
        response = httpx.get(
            f"{self.url}/api/{path}", headers={"Authorization": f"token {self.token}"}
        )
        response.raise_for_status()
        return response.json()

    def processes(self) -> list[psutil.Process]:
        """``make``'s children: JupyterLab, and the kernels it started."""
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def kernel_executables(self) -> set[str]:
        commands = [p.cmdline() for p in self.processes()]
        return {command[0] for command in commands if "ipykernel_launcher" in command}


def start_lab(home: Path, folder: Path, timeout: float = 180) -> Lab:
    """``make lab`` on ``folder``, with a free port and a token, settings under ``home``."""
    port, token = free_port(), os.urandom(16).hex()
    settings = home / "settings"
    notifications = settings / "@jupyterlab" / "apputils-extension"
    notifications.mkdir(parents=True)
    # No "would you like to receive news?" toast over the notebook.
    (notifications / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}'
    )
    args = [
        *OFFLINE_LAB,
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
    ]
    log = home / "lab.log"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(home / "runtime")}
    env.pop("MAKEFLAGS", None)  # not a sub-make of the test run's make
    env.pop(solutions.SOLUTIONS_ENV, None)  # a reader's Run All: the solutions stay hidden
    command = [
        "make",
        "--no-print-directory",
        "lab",
        f"LAB_DIR={folder}",
        f"LAB_ARGS={' '.join(args)}",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    lab = Lab(process, f"http://127.0.0.1:{port}", token, folder, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stop_lab(lab)
            raise AssertionError(f"`make lab` exited ({process.returncode}):\n{tail(log)}")
        try:
            lab.api("status")
            return lab
        except httpx.HTTPError:
            time.sleep(0.5)
    stop_lab(lab)
    raise AssertionError(f"JupyterLab did not answer within {timeout}s:\n{tail(log)}")


def stop_lab(lab: Lab) -> list[psutil.Process]:
    """SIGTERM to ``make`` and JupyterLab (which shuts its kernels down); then what is left.

    Returns the processes that outlived even SIGKILL (none, or the test fails).
    """
    children = lab.processes()
    if lab.process.poll() is None:
        os.killpg(lab.process.pid, signal.SIGTERM)
        try:
            lab.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(lab.process.pid, signal.SIGKILL)
            lab.process.wait(10)
    _, alive = psutil.wait_procs(children, timeout=15)
    for process in alive:
        process.kill()
    return psutil.wait_procs(alive, timeout=10)[1]


def tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class Notebook:
    """One notebook open in JupyterLab, in its own browser page."""

    def __init__(self, page: Page, lab: Lab, name: str) -> None:
        self.page, self.lab, self.name = page, lab, name
        self.panel = page.locator(".jp-NotebookPanel:visible")
        self.script_errors: list[str] = []  # uncaught in the page: a widget's view broke
        page.on("pageerror", lambda error: self.script_errors.append(str(error)))

    def open(self, timeout: float = 120) -> Notebook:
        self.page.goto(self.lab.address(self.name))
        self.page.get_by_text(KERNEL_IDLE).wait_for(timeout=timeout * 1000)
        self.panel.locator(".jp-Cell").first.wait_for()
        return self

    def run_all(self, timeout: float) -> None:
        self.start_run_all()
        self.wait_until_done(timeout)

    def start_run_all(self) -> None:
        """Run → Run All Cells, from the menu bar."""
        self.page.get_by_role("menuitem", name="Run", exact=True).click()
        self.page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

    def wait_until_done(self, timeout: float) -> None:
        """Wait until nothing is queued and the kernel is idle.

        JupyterLab stops at a failing cell and clears the queued cells' ``[*]``; so the end
        is: no ``[*]`` left, one cell at least numbered, and the status bar back at Idle.
        """
        self.page.wait_for_function(
            """([idle]) => {
                const panel = [...document.querySelectorAll('.jp-NotebookPanel')]
                    .find(p => p.offsetParent !== null);
                const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                    .map(p => p.textContent);
                const status = document.querySelector('#jp-main-statusbar').textContent;
                return prompts.some(p => /\\[\\d+\\]/.test(p))
                    && !prompts.some(p => p.includes('*')) && status.includes(idle);
            }""",
            arg=[KERNEL_IDLE],
            timeout=timeout * 1000,
            polling=500,
        )

    @property
    def code_cells(self) -> Locator:
        return self.panel.locator(".jp-CodeCell")

    def prompts(self) -> list[str]:
        """Each code cell's execution count as shown in its input prompt.

        A collapsed input (an exercise's solution, folded for the reader) shows no prompt;
        it counts as run when it shows its output: ``folded, N outputs``.
        """
        shown = []
        for cell in self.code_cells.all():
            prompt = "".join(cell.locator(".jp-InputPrompt").all_text_contents()).strip()
            outputs = cell.locator(".jp-OutputArea-output").count()
            shown.append(prompt or (f"folded, {outputs} outputs" if outputs else ""))
        return shown

    def cell(self, source: str) -> Locator:
        """The code cell whose source contains ``source``."""
        return self.code_cells.filter(has=self.page.locator(".jp-InputArea", has_text=source)).first

    def outputs(self, source: str) -> Locator:
        """The visible outputs of that cell (a closed progress bar stays, hidden)."""
        return self.cell(source).locator(".jp-OutputArea-output:visible")

    def problems(self) -> list[str]:
        """Tracebacks and warnings on the page: a reader should never see one.

        JupyterLab renders errors and stderr alike (``application/vnd.jupyter.stderr``);
        a progress bar that fell back to text or an IProgress warning lands there too.
        """
        found = []
        for index, cell in enumerate(self.code_cells.all()):
            for text in cell.locator(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
            ).all_text_contents():
                if any(word in text for word in ("Traceback", "Error", "Warning", "\r")):
                    found.append(f"cell {index}: {text.strip()[:800]}")
        return found

    def assert_ran_cleanly(self) -> None:
        """Every cell ran, nothing went wrong, and no exercise's solution gave itself away."""
        prompts = self.prompts()
        unrun = [i for i, p in enumerate(prompts) if not any(c.isdigit() for c in p)]
        problems = self.problems()
        assert not problems, f"{self.name}: error output in the browser:\n" + "\n".join(problems)
        assert not unrun, f"{self.name}: cells {unrun} did not run (prompts {prompts})"
        assert not self.script_errors, f"{self.name}: JavaScript errors {self.script_errors}"
        cells = nbformat.read(self.lab.root / self.name, as_version=4).cells
        hidden = sum("solution" in cell.metadata.get("tags", []) for cell in cells)
        saying_so = self.code_cells.filter(has_text=solutions.HIDDEN[:40]).count()
        assert saying_so == hidden, f"{self.name}: {hidden} solutions, {saying_so} say hidden"


def dataframe(table: Locator) -> dict[str, str]:
    """A rendered DataFrame's first two columns (after the index) as {first: second}."""
    return table.evaluate(
        """t => Object.fromEntries([...t.tBodies[0].rows]
            .map(r => [...r.querySelectorAll('td')].map(c => c.textContent.trim()))
            .map(cells => [cells[0], cells[1]]))"""
    )
