"""The notebook kernel the library runs in, if any: what only a kernel's cells should get."""

from __future__ import annotations

import sys
from typing import Any


def shell() -> Any | None:
    """The IPython shell of this process, or None (a script, a daemon, a test).

    Only where IPython is imported already: the daemons and command-line tools never load it.
    """
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None
