"""Text a notebook shows as it is: YAML, a terminal's output."""

from __future__ import annotations


class Text(str):
    """A string that Jupyter shows like ``print`` does: no quotes, real line breaks."""

    def __repr__(self) -> str:
        return str(self)
