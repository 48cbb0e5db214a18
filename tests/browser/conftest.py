"""Fixtures of the browser tier: JupyterLab started by ``make lab``, headless Chromium.

JupyterLab is started once per session, Chromium once per run of the module's tests (they
share a lane with other tests); both are stopped after, leaving no process behind.
Chromium is the system's (``make browser`` installs Debian's ``chromium``); Playwright
only drives it and never downloads a browser of its own. Screenshots go to
``build/browser/`` (``VLLM_TUTORIAL_ARTIFACTS``); with ``VLLM_TUTORIAL_SCREENSHOTS=<dir>``
(``make screenshots``) the README's pictures are written there too.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.sync_api import BrowserContext, Locator, Page, Route, sync_playwright

from tests.browser.jupyterlab import CHROMIUM_FLAGS, Lab, chromium, start_lab, stop_lab
from tests.helpers import ROOT

ARTIFACTS = Path(os.environ.get("VLLM_TUTORIAL_ARTIFACTS", ROOT / "build" / "browser"))
#: Where the README's pictures go when they are being regenerated (``make screenshots``).
PICTURES = os.environ.get("VLLM_TUTORIAL_SCREENSHOTS")


FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """Remember whether the test itself failed, for the ``page`` fixture's screenshot."""
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


@pytest.fixture(scope="session")
def executable() -> str:
    """The system's Chromium, or a skip where no package manager could have installed it."""
    found = chromium()
    if found:
        return found
    if shutil.which("apt-get") is None and not os.environ.get("CI"):  # CI must run the tier
        pytest.skip(
            "browser tier skipped: no chromium and no apt-get to install it; install "
            "Chromium with your package manager (or set VLLM_TUTORIAL_CHROMIUM)"
        )
    pytest.fail("chromium is not installed: `make browser` installs Debian's chromium")


@pytest.fixture(scope="session")
def lab(executable, tmp_path_factory) -> Iterator[Lab]:
    """``make lab`` on a copy of notebooks/: what runs there never touches the committed files.

    Asks for the browser first: where the tier is skipped, no JupyterLab is started.
    """
    home = tmp_path_factory.mktemp("jupyterlab")
    folder = home / "notebooks"
    shutil.copytree(ROOT / "notebooks", folder)
    started = start_lab(home, folder)
    yield started
    left = stop_lab(started)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(started.log, ARTIFACTS / "jupyterlab.log")  # with the kernels' stderr
    assert not left, f"processes left behind by JupyterLab: {left}"


@pytest.fixture(scope="module")
def browser(executable, tmp_path_factory) -> Iterator[BrowserContext]:
    """Headless Chromium with a fresh profile; every request off this machine is refused.

    For the module's tests only: Playwright's sync API keeps an asyncio loop running in this
    thread while it is open, and in a lane the next item may be another test's
    (``asyncio.run`` in ``test_wait_ready_works_inside_a_running_event_loop`` then failed).
    """
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000},
            device_scale_factor=1,
        )
        context.route("**/*", _local_only)
        try:
            yield context
        finally:
            context.close()


def _local_only(route: Route) -> None:
    url = urlsplit(route.request.url)
    if url.scheme in ("data", "blob") or url.hostname in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        route.abort()


@pytest.fixture
def page(browser, request) -> Iterator[Page]:
    """A new tab; a screenshot of it lands in the artifacts when the test fails."""
    tab = browser.new_page()
    yield tab
    if request.node.stash.get(FAILED, False):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=ARTIFACTS / f"{request.node.name}-failed.png")
    tab.close()


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    """``screenshot(locator, name)``: into the artifacts; with ``readme=True`` also a picture."""

    def take(locator: Locator, name: str, *, readme: bool = False) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        locator.scroll_into_view_if_needed()
        locator.page.mouse.move(0, 0)  # no hover highlight in the picture
        locator.screenshot(path=path, animations="disabled")
        with Image.open(path) as image:
            cropped = image.crop(_content_box(locator))
        cropped.save(path, optimize=True)
        if readme and PICTURES:
            pictures = Path(PICTURES)
            if not pictures.is_absolute():
                pictures = ROOT / pictures
            pictures.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, pictures / path.name)
        return path

    return take


def _content_box(locator: Locator, margin: int = 6) -> tuple[int, int, int, int]:
    """What the element shows, within its own box: an output is as wide as the notebook,
    its table or plot much narrower. The union of its innermost elements' boxes, as
    (left, top, right, bottom) from the element's corner."""
    return tuple(
        locator.evaluate(
            """(element, margin) => {
            const outer = element.getBoundingClientRect();
            const leaves = [...element.querySelectorAll('*')].filter(e =>
                e.tagName === 'IMG' || e.tagName === 'SELECT' || e.children.length === 0);
            const boxes = leaves.map(e => e.getBoundingClientRect())
                .filter(r => r.width > 0 && r.height > 0);
            if (boxes.length === 0) return [0, 0, outer.width, outer.height].map(Math.round);
            return [
                Math.max(0, Math.min(...boxes.map(r => r.left)) - outer.left - margin),
                Math.max(0, Math.min(...boxes.map(r => r.top)) - outer.top - margin),
                Math.min(outer.width, Math.max(...boxes.map(r => r.right)) - outer.left + margin),
                Math.min(outer.height, Math.max(...boxes.map(r => r.bottom)) - outer.top + margin),
            ].map(Math.round);
        }""",
            margin,
        )
    )
