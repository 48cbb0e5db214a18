"""The book's tier uses the browser tier's Chromium: the same fixtures, the same refusal of
every request off this machine (a page that needs the network shows it as missing)."""

from tests.browser.conftest import browser, executable, page, pytest_runtest_makereport

__all__ = ["browser", "executable", "page", "pytest_runtest_makereport"]
