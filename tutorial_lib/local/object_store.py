"""The local cluster's object store: versitygw, an S3 API over a folder, where S3 stands on EKS.

The series keeps its LoRA adapter in S3, and an init container copies it into the pod
before vLLM starts (post 6). Locally, versitygw (Versity's S3 gateway, Apache-2.0) serves a
folder of the state dir over the S3 API on loopback: a bucket is a folder, an object a file.
It is a real S3 server: ``aws s3 cp``, boto3 and the bridge's init containers
(``init_script``) sign their requests with its credentials and get S3's answers, 404 for a
missing key included.

In the cluster it is named as a Service would be, ``http://object-store.object-store.svc:7070``
(``up`` applies that Service, without pods); the bridge moves that address to the local port
when an init container names it. The root credentials are made at the first start and kept
in the state folder, readable by this account only (``credentials``).

Started by ``python -m tutorial_lib.local up``, which runs ``main()`` in a process of its own.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tutorial_lib.local import binaries, daemons, paths, ports

log = logging.getLogger(__name__)

SERVICE = NAMESPACE = "object-store"
PORT = 7070
HEALTH = "/health"
#: How often the daemon checks that versitygw still runs.
CHECK_SECONDS = 5.0


@dataclass(frozen=True)
class Credentials:
    """The store's root account: what a pod's Secret hands its init container."""

    access_key: str
    secret_key: str


def in_cluster_urls() -> list[str]:
    """The addresses a pod may give as ``AWS_ENDPOINT_URL``: the Service's DNS names."""
    hosts = [f"{SERVICE}.{NAMESPACE}", f"{SERVICE}.{NAMESPACE}.svc"]
    hosts.append(f"{SERVICE}.{NAMESPACE}.svc.cluster.local")
    return [f"http://{host}:{PORT}" for host in hosts]


def local_url() -> str:
    return f"http://127.0.0.1:{ports.object_store()}"


def endpoints() -> dict[str, str]:
    """Each in-cluster address, with the local one the bridge connects to instead."""
    return dict.fromkeys(in_cluster_urls(), local_url())


def data_dir() -> Path:
    return paths.state_dir() / "object-store"


def credentials() -> Credentials:
    """The root account, made once per cluster; the file is this account's alone (0600)."""
    file = paths.state_dir() / "object-store.credentials"
    if not file.exists():
        made = {"access_key": secrets.token_hex(10), "secret_key": secrets.token_urlsafe(30)}
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(made, out)
    return Credentials(**json.loads(file.read_text()))


def ready() -> bool:
    """Whether versitygw answers its health path."""
    try:
        with urllib.request.urlopen(local_url() + HEALTH, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _start(binary: Path) -> subprocess.Popen[bytes]:
    data_dir().mkdir(parents=True, exist_ok=True)
    account = credentials()
    env = {
        "PATH": "/usr/bin:/bin",
        daemons.OWNER_ENV: str(paths.state_dir()),
        # In the environment, not in the arguments, where `ps` would show the secret.
        "ROOT_ACCESS_KEY_ID": account.access_key,
        "ROOT_SECRET_ACCESS_KEY": account.secret_key,
        "VGW_PORT": f"127.0.0.1:{ports.object_store()}",
        "VGW_HEALTH": HEALTH,
        "VGW_QUIET": "true",
    }
    return subprocess.Popen(
        [str(binary), "posix", str(data_dir())],
        env=env,
        stdin=subprocess.DEVNULL,
        preexec_fn=daemons.die_with_parent,
    )


def run(stopping: threading.Event) -> None:
    """Keep versitygw running until ``stopping`` is set."""
    binary = binaries.ensure("versitygw")["versitygw"]
    gateway = _start(binary)
    while not stopping.wait(CHECK_SECONDS):
        if gateway.poll() is not None:
            log.warning("versitygw exited with %s; starting it again", gateway.returncode)
            gateway = _start(binary)
    daemons.end_child(gateway)


def main() -> None:
    daemons.until_sigterm(run)


if __name__ == "__main__":
    main()
