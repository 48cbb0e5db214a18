"""Helpers for the tutorial's notebooks: one readable call per step.

import tutorial_lib as tl

cluster = tl.connect()                      # local cluster, or a kubeconfig context
tl.apply(cluster, cluster.overlay)
pod = tl.wait_ready(cluster)
with tl.port_forward(cluster) as tunnel:
    print(tl.chat(tunnel.url, "What is Kubernetes?").text)

Everything returns plain data (tables, dicts, ``PodState``); the Kubernetes client stays
inside the library. The layers, bottom to top: ``domain`` and ``serving`` (no cluster),
``tools``, ``kube``, ``local`` (the local cluster), ``api``; ``docs/decisions.md`` says why.
"""

import ast
from importlib import import_module
from pathlib import Path
from typing import Any


def _exports() -> tuple[list[str], dict[str, tuple[str, str]]]:
    """``__all__`` and where each name comes from, both read from ``__init__.pyi``.

    The package imports nothing until a name is used (PEP 562): ``python -m tutorial_lib.local
    install-bundle`` runs before the venv has the Kubernetes client, and the daemons and
    command-line tools never load pandas or ipywidgets.
    """
    tree = ast.parse(Path(__file__).with_suffix(".pyi").read_text())
    origins: dict[str, tuple[str, str]] = {}
    exported: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                origins[alias.asname or alias.name] = (node.module, alias.name)
        elif isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "__all__":
            exported = ast.literal_eval(node.value)
    return exported, origins


__all__, _ORIGINS = _exports()


def _in_a_kernel() -> None:
    """``%%solution`` in a notebook's kernel, known once the first cell imports ``tl``."""
    shell = import_module("tutorial_lib.api.kernel").shell()
    if shell is not None:
        import_module("tutorial_lib.api.solutions").register(shell)


_in_a_kernel()


def __getattr__(name: str) -> Any:
    """``from module import attribute`` for ``tl.<name>``, on first use."""
    if name not in _ORIGINS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name, attribute = _ORIGINS[name]
    module = import_module(module_name)
    if attribute in vars(module):
        value = getattr(module, attribute)
    else:
        value = import_module(f"{module_name}.{attribute}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
