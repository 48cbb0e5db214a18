"""What an init container may do on the host: fetch objects from an object store, nothing more.

The series delivers its LoRA adapter with an init container (post 6,
``06-lora-serving/kubernetes/deployment.yaml``): ``amazon/aws-cli`` runs a short ``sh -c``
script of ``aws s3 cp`` lines into an ``emptyDir`` that vLLM then reads. On EKS that is a
container of its own. Here a container would be a process on the host, so the bridge never
runs a shell: it reads the script and accepts only lines it can carry out itself, each a
simple command without shell syntax (no ``$``, quotes across lines, pipes, redirections,
``;`` or ``&&``):

* ``aws s3 cp s3://BUCKET/KEY DEST`` and ``--recursive`` for a prefix (``--no-progress``,
  ``--only-show-errors`` allowed): carried out by ``init_run`` with boto3, DEST moved into
  the pod's own folder (``admission.PodFiles``);
* ``echo WORDS``, ``ls [-l] [-h] PATH``, ``mkdir -p PATH``;
* ``set -e`` (stop at the first failing line, as ``sh -e`` does; without it ``sh`` goes on and
  the script's exit code is its last line's).

The container's command may also be ``aws s3 cp ...`` itself. Its environment may set the
AWS variables an ``aws s3 cp`` reads; the endpoint only to the local object store, whose
in-cluster address the bridge moves to its local port. Anything else is refused with the
reason, which the pod shows as ``RunContainerError``.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from tutorial_lib.local.admission import PodFiles, Refused

SHELLS = frozenset({"sh", "/bin/sh", "bash", "/bin/bash"})
#: The aws CLI's environment that a copy may read; the endpoint is checked separately.
AWS_ENV = frozenset(
    {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_REQUEST_CHECKSUM_CALCULATION",
        "AWS_RESPONSE_CHECKSUM_VALIDATION",
    }
)
ENDPOINT_ENV = "AWS_ENDPOINT_URL"
#: Where the aws CLI reads its keys (a Secret's file, not env: checkov's CKV_K8S_35).
CREDENTIALS_FILE_ENV = "AWS_SHARED_CREDENTIALS_FILE"
COPY_FLAGS = frozenset({"--recursive", "--no-progress", "--only-show-errors"})
#: Characters a line may not hold: the shell would expand, chain or redirect with them.
SHELL_SYNTAX = frozenset("$`|;&<>(){}*?[]\\")


@dataclass(frozen=True)
class Step:
    """One line of the script: what it does, the paths as the container names them and here."""

    kind: str  # "echo", "copy", "list", "mkdir"
    line: str
    text: str = ""  # echo
    source: str = ""  # copy: s3://bucket/key
    recursive: bool = False
    shown: str = ""  # the path as the container names it
    path: str = ""  # the same path in the pod's folder


@dataclass(frozen=True)
class Plan:
    """What ``init_run`` carries out for one init container."""

    steps: list[Step]
    errexit: bool
    env: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        return cls([Step(**s) for s in data["steps"]], data["errexit"], dict(data["env"]))


def admit(
    container: Any,
    files: PodFiles,
    env: Iterable[tuple[str, str]],
    endpoints: Mapping[str, str],
) -> Plan:
    """The plan for init container ``container`` (a ``V1Container``), or ``Refused``.

    ``endpoints``: each in-cluster address of the local object store, with its local one.
    """
    lines, errexit = _lines(list(container.command or []), list(container.args or []))
    steps = [step for line in lines if (step := _step(line, files))]
    errexit = errexit or any(step.kind == "set" for step in steps)
    return Plan([s for s in steps if s.kind != "set"], errexit, _env(env, endpoints, files))


def _lines(command: list[str], args: list[str]) -> tuple[list[str], bool]:
    """The script's lines, and whether the shell was started with ``-e``."""
    whole = command + args
    if whole[:3] == ["aws", "s3", "cp"]:
        return [shlex.join(whole)], True
    if not whole or whole[0] not in SHELLS:
        raise Refused(
            f"the local cluster runs an init container's `aws s3 cp`, or a `sh -c` script of "
            f"such lines; the command {whole[:2]} is neither"
        )
    options = whole[1:-1]
    if not options or options[-1] not in ("-c", "-ec", "-ce") or len(whole) < 3:
        raise Refused("an init container's shell must be started as `sh -c SCRIPT`")
    errexit = any("e" in option for option in options)
    return whole[-1].splitlines(), errexit


def _step(line: str, files: PodFiles) -> Step | None:
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    if forbidden := sorted(SHELL_SYNTAX & set(text)):
        raise Refused(
            f"the init script's line {text!r} uses shell syntax ({' '.join(forbidden)}); the "
            "local cluster runs plain commands only"
        )
    words = shlex.split(text)
    match words:
        case ["set", *flags] if flags and all(f.startswith("-") and "e" in f for f in flags):
            return Step("set", text)
        case ["echo", *rest]:
            return Step("echo", text, text=" ".join(rest))
        case ["aws", "s3", "cp", *rest]:
            return _copy(text, rest, files)
        case ["ls", *rest] if len(_plain(rest)) == 1:
            return Step("list", text, shown=_plain(rest)[0], path=files.host_path(_plain(rest)[0]))
        case ["mkdir", "-p", path]:
            return Step("mkdir", text, shown=path, path=files.host_path(path))
    raise Refused(
        f"the init script's line {text!r} is not one the local cluster runs (`aws s3 cp`, "
        "`echo`, `ls PATH`, `mkdir -p PATH`, `set -e`)"
    )


def _plain(words: list[str]) -> list[str]:
    """``ls``'s operands: its flags (``-l``, ``-h``, ``-lh``) only change how it prints."""
    if any(w.startswith("-") and set(w[1:]) - {"l", "h", "a"} for w in words):
        raise Refused(f"ls {' '.join(words)}: the local cluster's ls takes -l, -h and -a only")
    return [w for w in words if not w.startswith("-")]


def _copy(line: str, words: list[str], files: PodFiles) -> Step:
    flags = {w for w in words if w.startswith("--")}
    if flags - COPY_FLAGS:
        raise Refused(
            f"aws s3 cp {' '.join(sorted(flags - COPY_FLAGS))}: the local cluster copies with "
            f"{', '.join(sorted(COPY_FLAGS))} only"
        )
    operands = [w for w in words if not w.startswith("--")]
    if len(operands) != 2 or not operands[0].startswith("s3://") or operands[1].startswith("s3:"):
        raise Refused(f"{line!r}: the local cluster copies from s3://BUCKET/KEY to a path")
    source, dest = operands
    if not source.removeprefix("s3://").split("/", 1)[0]:
        raise Refused(f"{line!r}: no bucket in {source}")
    return Step(
        "copy",
        line,
        source=source,
        recursive="--recursive" in flags,
        shown=dest,
        path=files.host_path(dest) + ("/" if dest.endswith("/") else ""),
    )


def _env(
    env: Iterable[tuple[str, str]], endpoints: Mapping[str, str], files: PodFiles
) -> dict[str, str]:
    checked = {}
    for name, value in env:
        if name == ENDPOINT_ENV:
            if value.rstrip("/") not in endpoints:
                raise Refused(
                    f"{ENDPOINT_ENV}={value}: the local cluster's init containers reach its "
                    f"own object store only ({', '.join(sorted(endpoints)) or 'not running'})"
                )
            checked[name] = endpoints[value.rstrip("/")]
        elif name in AWS_ENV:
            checked[name] = value
        elif name == CREDENTIALS_FILE_ENV:  # a path: the file in the pod's secret volume
            checked[name] = files.host_path(value)
        elif name == "HOME":  # the aws CLI's cache folder: the bridge gives the pod's own
            continue
        else:
            raise Refused(
                f"the environment variable {name} is not one the local cluster passes to an "
                "init container (it passes "
                f"{', '.join(sorted(AWS_ENV | {ENDPOINT_ENV, CREDENTIALS_FILE_ENV}))})"
            )
    if ENDPOINT_ENV not in checked:
        raise Refused(
            f"no {ENDPOINT_ENV}: on the local cluster an init container copies from its "
            "object store, not from AWS: the ConfigMap adapter-store names it "
            "(tl.publish_adapters creates it)"
        )
    return checked
