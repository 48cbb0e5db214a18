"""What a pod may run on the host: the runtime's ``vllm serve`` and nothing else.

Creating a pod on the local cluster starts a process on the host as the account that ran
``up``; in a workshop, attendees create pods. So the pod spec is untrusted input: the bridge
runs only vLLM's server, with options from an allow-list of what serving needs, and every
path the process is given (the model, caches, templates, adapters, ``HOME``) is moved into
the pod's own folder: a path under a volume mount into that volume's folder, any other one
into the pod's ``rootfs`` folder, as a container's own filesystem would. Anything else is
refused with the reason, which the pod shows as ``RunContainerError``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutorial_lib.local.limits import memory_limit

#: The entrypoint of the vllm/vllm-openai image, used when a container gives no command.
IMAGE_ENTRYPOINT = ("vllm", "serve")

#: Options without a value.
FLAGS = frozenset(
    {
        "--enforce-eager",
        "--enable-lora",
        "--enable-prefix-caching",
        "--no-enable-prefix-caching",
        "--enable-chunked-prefill",
        "--no-enable-chunked-prefill",
        "--disable-log-requests",
        "--enable-log-requests",
        "--disable-log-stats",
    }
)
#: Options with one plain value (a number, a name, a choice): nothing vLLM reads as a path.
VALUES = frozenset(
    {
        "--port",
        "--host",
        "--max-model-len",
        "--gpu-memory-utilization",
        "--kv-cache-memory-bytes",
        "--kv-cache-dtype",
        "--num-gpu-blocks-override",
        "--block-size",
        "--max-num-seqs",
        "--max-num-batched-tokens",
        "--tensor-parallel-size",
        "--dtype",
        "--quantization",
        "--seed",
        "--revision",
        "--max-loras",
        "--max-lora-rank",
        "--max-cpu-loras",
        "--api-key",
        "--shutdown-timeout",
        "--uvicorn-log-level",
        "--max-log-len",
    }
)
#: Options naming a model: a Hugging Face id, or a path (moved into the pod's folder).
MODELS = frozenset({"--model", "--tokenizer"})
#: Options naming a file or folder (moved into the pod's folder).
PATHS = frozenset({"--download-dir", "--chat-template"})
#: Options with one or more values: served names, and adapters as ``name=path``.
SEVERAL = frozenset({"--served-model-name", "--lora-modules"})
#: Refused with a reason of their own; any option not listed above is refused too.
DANGEROUS = {
    "--trust-remote-code": "it runs Python code that comes with the model, on this machine",
}

#: Environment variables naming a path (moved into the pod's folder).
PATH_ENV = frozenset({"HOME", "HF_HOME", "HF_HUB_CACHE", "XDG_CACHE_HOME"})
#: Environment variables with a plain value that vLLM, torch or OpenMP read.
VALUE_ENV = frozenset(
    {
        "VLLM_CPU_KVCACHE_SPACE",
        "VLLM_ENABLE_V1_MULTIPROCESSING",
        "VLLM_LOGGING_LEVEL",
        "VLLM_CPU_OMP_THREADS_BIND",
        "OMP_NUM_THREADS",
        "TORCH_COMPILE_DISABLE",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "VLLM_API_KEY",
        "TZ",
    }
)
KV_CACHE_ENV = "VLLM_CPU_KVCACHE_SPACE"
GIB = 1024**3

_MODEL_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")


class Refused(Exception):
    """The container asks for something the local cluster does not run; the reason says what."""


@dataclass(frozen=True)
class PodFiles:
    """Where the container's paths live on the host: its volumes, and its own filesystem."""

    rootfs: Path
    mounts: dict[str, Path]

    def host_path(self, path: str) -> str:
        """The host path for ``path`` as the container names it; never outside the pod."""
        if "\0" in path:
            raise Refused(f"the path {path!r} contains a NUL byte")
        absolute = posixpath.normpath(posixpath.join("/", path))  # "/../x" -> "/x"
        for mount in sorted(self.mounts, key=len, reverse=True):
            inside = posixpath.relpath(absolute, posixpath.normpath(mount))
            if inside == ".":
                return str(self.mounts[mount])
            if inside != ".." and not inside.startswith("../"):
                return str(self.mounts[mount] / inside)
        return str(self.rootfs / absolute.lstrip("/"))


@dataclass(frozen=True)
class Launch:
    """What the bridge starts: ``vllm serve`` with these options, in this environment."""

    args: list[str]
    env: dict[str, str]


def _model(value: str, files: PodFiles) -> str:
    if value.startswith(("/", ".")):
        return files.host_path(value)
    if not _MODEL_ID.fullmatch(value) or ".." in value:
        raise Refused(
            f"the model {value!r} is neither a Hugging Face id (org/name) nor a path in the pod"
        )
    return value


def _adapter(value: str, files: PodFiles) -> str:
    name, sep, path = value.partition("=")
    if not sep or not name:
        raise Refused(f"--lora-modules takes name=path; got {value!r}")
    return f"{name}={files.host_path(path)}"


def _split(arg: str) -> tuple[str, str | None]:
    option, sep, value = arg.partition("=")
    return option, (value if sep else None)


def _refuse_option(option: str) -> Refused:
    if option in DANGEROUS:
        return Refused(f"{option} is refused: {DANGEROUS[option]}")
    return Refused(
        f"the option {option} is not one the local cluster runs; it runs vLLM with the "
        "options of docs/decisions.md (Admission): the model, ports, memory and batching, "
        "LoRA adapters"
    )


def _options(args: list[str], files: PodFiles) -> list[str]:
    """The container's args for ``vllm serve``, checked, paths moved into the pod's folder."""
    checked: list[str] = []
    positional = False
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("-"):
            if positional:
                raise Refused(f"a second model {arg!r}: vllm serve takes one")
            checked.append(_model(arg, files))
            positional = True
            continue
        option, value = _split(arg)
        if option in FLAGS:
            if value is not None:
                raise Refused(f"{option} takes no value; got {arg!r}")
            checked.append(option)
            continue
        if option not in VALUES | MODELS | PATHS | SEVERAL:
            raise _refuse_option(option)
        inline = value is not None  # --option=value: kept in that form
        if option in SEVERAL and value is None:
            values = []
            while i < len(args) and not args[i].startswith("-"):
                values.append(args[i])
                i += 1
        elif value is None:
            if i >= len(args):
                raise Refused(f"{option} needs a value")
            values, i = [args[i]], i + 1
        else:
            values = [value]
        if not values:
            raise Refused(f"{option} needs a value")
        if option in MODELS:
            values = [_model(v, files) for v in values]
        elif option in PATHS:
            values = [files.host_path(v) for v in values]
        elif option == "--lora-modules":
            values = [_adapter(v, files) for v in values]
        checked += [f"{option}={values[0]}"] if inline else [option, *values]
    return checked


def _environment(env: Iterable[tuple[str, str]], files: PodFiles) -> dict[str, str]:
    checked: dict[str, str] = {}
    for name, value in env:
        if name in PATH_ENV:
            checked[name] = files.host_path(value)
        elif name in VALUE_ENV:
            checked[name] = value
        else:
            raise Refused(
                f"the environment variable {name} is not one the local cluster passes to vLLM "
                f"(it passes {', '.join(sorted(PATH_ENV | VALUE_ENV))})"
            )
    return checked


def _fits_memory_limit(env: dict[str, str], limit: int | None) -> None:
    """The CPU build's KV cache is ordinary memory: it must fit the pod's memory limit."""
    if limit is None or KV_CACHE_ENV not in env:
        return
    try:
        space = float(env[KV_CACHE_ENV]) * GIB
    except ValueError:
        raise Refused(f"{KV_CACHE_ENV}={env[KV_CACHE_ENV]!r} is not a number of GiB") from None
    if space >= limit:
        raise Refused(
            f"{KV_CACHE_ENV}={env[KV_CACHE_ENV]} GiB of KV cache does not fit the memory limit "
            f"of {limit / GIB:.2f} GiB; lower it or raise resources.limits.memory"
        )


def admit(container: Any, files: PodFiles, env: Iterable[tuple[str, str]] | None = None) -> Launch:
    """The launch for ``container`` (a ``V1Container``), or ``Refused`` with the reason.

    ``env``: its variables with their values, those from Secrets and ConfigMaps read
    (``env_from.resolve``); by default the values written in the spec.
    """
    command = list(container.command or IMAGE_ENTRYPOINT)
    args = list(container.args or [])
    if command == ["vllm"] and args[:1] == ["serve"]:  # the blog repository's form
        command, args = ["vllm", "serve"], args[1:]
    if command != list(IMAGE_ENTRYPOINT):
        raise Refused(
            f"the local cluster runs only vLLM's server; the command {command} is not "
            '`vllm serve`. Check the container\'s command in the manifest: ["vllm", "serve"], '
            "or none (the image's entrypoint)"
        )
    if env is None:
        env = [(var.name, var.value) for var in container.env or [] if var.value is not None]
    launch = Launch(_options(args, files), _environment(env, files))
    _fits_memory_limit(launch.env, memory_limit(container))
    return launch
