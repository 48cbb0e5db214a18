"""Carry out an init container's plan (``init_script``): the aws CLI's copies, done with boto3.

    python -m tutorial_lib.local.init_run PLAN.json

The bridge runs this as the init container's process, in the pod's folder, with the plan's
AWS variables as its whole environment (boto3 reads them as the aws CLI does). It prints
what ``aws s3 cp`` prints, with the paths as the container names them, and exits as ``sh``
would: at the first failing line under ``set -e``, else with the last line's code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from tutorial_lib.local.init_script import Plan, Step

#: The aws CLI's exit code for a failed copy, and ls's for a missing path.
COPY_FAILED, NOT_FOUND = 1, 2


def run(plan: Plan) -> int:
    client = boto3.client("s3")
    code = 0
    for step in plan.steps:
        code = _carry_out(client, step)
        if code and plan.errexit:
            break
    return code


def _carry_out(client: Any, step: Step) -> int:
    if step.kind == "echo":
        print(step.text, flush=True)
        return 0
    if step.kind == "mkdir":
        Path(step.path).mkdir(parents=True, exist_ok=True)
        return 0
    if step.kind == "list":
        return _list(step)
    try:
        _copy(client, step)
    except (ClientError, BotoCoreError) as exc:
        print(f"fatal error: {exc}", flush=True)
        return COPY_FAILED
    return 0


def _copy(client: Any, step: Step) -> None:
    bucket, _, key = step.source.removeprefix("s3://").partition("/")
    if not step.recursive:
        client.head_object(Bucket=bucket, Key=key)  # the CLI's first call: 404 names the key
        name = PurePosixPath(key).name
        into_folder = step.path.endswith("/") or Path(step.path).is_dir()
        _download(client, bucket, key, step, name if into_folder else "")
        return
    prefix = key if not key or key.endswith("/") else key + "/"
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            _download(client, bucket, item["Key"], step, item["Key"][len(prefix) :])


def _download(client: Any, bucket: str, key: str, step: Step, inside: str) -> None:
    target = Path(step.path, inside) if inside else Path(step.path)
    target.parent.mkdir(parents=True, exist_ok=True)
    client.download_file(bucket, key, str(target))
    shown = str(PurePosixPath(step.shown, inside)) if inside else step.shown
    print(f"download: s3://{bucket}/{key} to {shown}", flush=True)


def _list(step: Step) -> int:
    folder = Path(step.path)
    if not folder.exists():
        print(f"ls: cannot access '{step.shown}': No such file or directory", flush=True)
        return NOT_FOUND
    entries = sorted(folder.iterdir()) if folder.is_dir() else [folder]
    for entry in entries:
        print(f"{entry.stat().st_size:>10} {entry.name}", flush=True)
    return 0


def main() -> None:
    plan = Plan.from_json(json.loads(Path(sys.argv[1]).read_text()))
    sys.exit(run(plan))


if __name__ == "__main__":
    main()
