"""The few exceptions the tutorial raises, each carrying a hint at the fix.

A reader in a notebook sees the message and the hint, never a bare traceback from deep
inside a client library: the original exception is kept as ``__cause__``.
"""

from __future__ import annotations


class TutorialError(Exception):
    """Base class: ``message`` says what went wrong, ``hint`` what to do next."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\nHint: {self.hint}" if self.hint else self.message


class LocalClusterError(TutorialError):
    """The local cluster could not be prepared, started or stopped."""
