"""Where the tutorial's manifests live, what they render to, and one part of them to read.

kubectl equivalent of ``render``: ``kubectl kustomize manifests/overlays/local``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from tutorial_lib import names
from tutorial_lib.errors import ManifestError
from tutorial_lib.tools import binaries, process
from tutorial_lib.tools.text import Text

ROOT = Path(__file__).resolve().parents[2] / "manifests"
OVERLAYS = ("eks-l4", "local", "local-base", "local-gpu", "local-lora")
#: Names the overlay ``cluster.overlay`` applies instead of the cluster's own: e.g.
#: ``local-base``, the local cluster serving a base model without a chat template.
OVERLAY_ENV = "VLLM_TUTORIAL_OVERLAY"


def overlay(name: str) -> Path:
    """The folder of an overlay: ``eks-l4`` (the blog's cluster) or one of the local ones."""
    if name not in OVERLAYS:
        raise ManifestError(f"No overlay {name!r}.", f"Choose one of {', '.join(OVERLAYS)}.")
    return ROOT / "overlays" / name


def default_overlay(own: str) -> Path:
    """The overlay for a cluster: ``VLLM_TUTORIAL_OVERLAY`` if set, else the cluster's ``own``."""
    return overlay(os.environ.get(OVERLAY_ENV) or own)


def render(target: str | Path, namespace: str = names.NAMESPACE) -> list[dict]:
    """The objects of a kustomize folder, a folder of YAML files or one file, as dicts.

    With another ``namespace`` (a workshop attendee's), the objects are moved there: see
    :func:`moved`.
    """
    objects = _rendered(Path(target))
    return objects if namespace == names.NAMESPACE else moved(objects, namespace)


def moved(objects: list[dict], namespace: str) -> list[dict]:
    """The tutorial's objects as they would be in ``namespace`` instead of ``ml-models``.

    The manifests name their namespace in more places than kustomize's ``namespace:``
    reaches: the objects' metadata, but also the ServiceMonitor's ``namespaceSelector``, the
    alert's PromQL (``up{namespace="ml-models"}``) and its text. Every string naming it is
    changed. The Namespace object itself is left out: a namespace other than the tutorial's
    belongs to whoever made it (the instructor's ``python -m tutorial_lib.workshop``, or you:
    ``kubectl create namespace``), and an attendee may not change it.

    kubectl equivalent: ``kubectl kustomize manifests/overlays/local | sed
    's/ml-models/attendee-01/g'``, without the Namespace.
    """
    word = re.compile(rf"\b{re.escape(names.NAMESPACE)}\b")

    def move(value: Any) -> Any:
        if isinstance(value, str):
            return word.sub(namespace, value)
        if isinstance(value, dict):
            return {key: move(item) for key, item in value.items()}
        if isinstance(value, list):
            return [move(item) for item in value]
        return value

    return [move(obj) for obj in objects if obj.get("kind") != "Namespace"]


#: What ``kubectl apply -f <folder>`` reads from a folder.
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def _rendered(target: Path) -> list[dict]:
    if not target.exists():
        raise ManifestError(
            f"No file or folder {target}.",
            f"A relative path starts from the notebook's folder, {Path.cwd()}; the tutorial's "
            "overlays are tl.manifests.overlay('local') and tl.manifests.overlay('eks-l4').",
        )
    if (target / "kustomization.yaml").exists():
        proc = process.run([binaries.kubectl(), "kustomize", target], timeout=120)
        if proc.returncode != 0:
            raise ManifestError(
                f"kustomize could not render {target}:\n{proc.stderr.strip()}",
                "The message names the file and the field at fault.",
            )
        return _objects(proc.stdout, target)
    files = (
        sorted(f for f in target.iterdir() if f.suffix in MANIFEST_SUFFIXES)
        if target.is_dir()
        else [target]
    )
    if not files:
        raise ManifestError(
            f"The folder {target} holds no manifests.",
            f"kubectl apply -f reads the files ending in {', '.join(MANIFEST_SUFFIXES)}; "
            "a kustomize folder has a kustomization.yaml.",
        )
    objects = [obj for file in files for obj in _objects(file.read_text(), file)]
    if not objects:
        raise ManifestError(f"{target} holds no objects.", "Is the file empty or all comments?")
    return objects


def _objects(text: str, source: Path) -> list[dict]:
    """The documents of one file, each a Kubernetes object, or an error naming where."""
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ManifestError(
            f"{source}{where}: not valid YAML ({problem}).",
            "Check the indentation (spaces, not tabs) and the quoting on that line.",
        ) from None
    for number, doc in enumerate(documents, 1):
        if not isinstance(doc, dict) or not {"apiVersion", "kind"} <= doc.keys():
            raise ManifestError(
                f"{source}: document {number} is not a Kubernetes object "
                f"(a mapping with apiVersion and kind): {str(doc)[:80]}",
                "Documents are separated by lines of ---; each starts with apiVersion: and kind:.",
            )
    return documents


def part(target: str | Path, kind: str, path: str) -> Text:
    """One part of a rendered object as YAML, under its own key: the manifest read in pieces.

    ``path`` is dotted, with list indices: ``spec.template.spec.containers[0].resources``.

    kubectl equivalent: ``kubectl kustomize manifests/overlays/local`` and find the part, or
    on the cluster ``kubectl get deploy/vllm -n ml-models -o jsonpath='{.spec.strategy}'``.
    """
    found = [obj for obj in render(target) if obj.get("kind") == kind]
    if not found:
        raise ManifestError(f"{target} renders no {kind}.")
    value: Any = found[0]
    for key in re.findall(r"[^.\[\]]+", path):
        try:
            value = value[int(key)] if key.isdigit() else value[key]
        except (KeyError, IndexError, TypeError):
            raise ManifestError(
                f"The {kind} in {target} has no {path!r} (stopped at {key!r}).",
                f"The keys there: {', '.join(value) if isinstance(value, dict) else '(a list)'}",
            ) from None
    last = re.findall(r"[^.\[\]]+", path)[-1]
    return Text(yaml.safe_dump({last: value}, sort_keys=False).rstrip())
