"""What SIGTERM does to vLLM with an answer in flight: drained, aborted, or failed.

    python benchmarks/shutdown.py [--tokens 120]

Runs the local runtime's ``vllm serve`` (the stand-in, CPU build) outside the cluster, once
per case: ``--shutdown-timeout`` 0 (vLLM's default, the blog's manifest) or 45 (ours);
SIGTERM to the main process (what a container runtime does) or to its whole process group
(what the bridge did before); ``VLLM_ENABLE_V1_MULTIPROCESSING`` 1 (vLLM's default, as in the
image on EKS) or 0 (the local overlay; ``vllm serve`` still runs its engine in a process of
its own). Each case answers a short completion first (a fresh server's first answer pays a
warm-up), then streams one of ``--tokens`` tokens (``ignore_eos``, as notebook 07 does with
``tutorial_lib.serving.inflight``), sends SIGTERM a second in, and records what the client
got and how long the server took to exit; then the same server again with nothing in
flight. The client gives up after 30 s of silence. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from tutorial_lib.local import bridge, runtime
from tutorial_lib.serving import completions, inflight

SILENCE = 30.0
#: (--shutdown-timeout, SIGTERM to, the engine in a process of its own)
CASES = [
    (0, "main", True),
    (45, "main", True),
    (45, "group", True),
    (0, "main", False),
    (45, "main", False),
]


def serve(
    env: runtime.Runtime, timeout: int, own_engine: bool, port: int, log: Path
) -> subprocess.Popen[bytes]:
    command = [
        str(env.vllm),
        "serve",
        runtime.MODEL_ID,
        "--enforce-eager",
        f"--port={port}",
        "--max-model-len=4096",
        f"--shutdown-timeout={timeout}",
    ]
    variables = {
        "HF_HOME": str(env.hf_home),
        "HF_HUB_OFFLINE": "1",
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "VLLM_ENABLE_V1_MULTIPROCESSING": "1" if own_engine else "0",
        "OMP_NUM_THREADS": "1",
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            env={**os.environ, **variables},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_healthy(port: int) -> float:
    started = time.monotonic()
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return time.monotonic() - started
        except OSError:
            time.sleep(0.5)


def url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def ended(answer: inflight.InFlight) -> str:
    if answer.finished:
        return f"finished, {len(answer.arrivals)} tokens"
    return f"{len(answer.arrivals)} of {answer.max_tokens} tokens, then {answer.error or 'no end'}"


def terminate(process: subprocess.Popen[bytes], target: str) -> float:
    """SIGTERM as ``target`` says; the seconds until the server exited (killed after 120 s)."""
    sent = time.monotonic()
    if target == "group":
        os.killpg(process.pid, signal.SIGTERM)
    else:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return time.monotonic() - sent


def one_case(
    env: runtime.Runtime, timeout: int, target: str, own_engine: bool, tokens: int
) -> dict[str, object]:
    port = bridge.free_port()
    engine = "1" if own_engine else "0"
    log = Path(f"/tmp/shutdown-{timeout}-{target}-{int(own_engine)}.log")
    process = serve(env, timeout, own_engine, port, log)
    row: dict[str, object] = {"timeout": timeout, "SIGTERM to": target, "MP": engine}
    row["ready s"] = round(wait_healthy(port), 1)
    started = time.monotonic()
    completions.complete(url(port), "Once", model=runtime.MODEL_ID, max_tokens=32)
    row["first answer s"] = round(time.monotonic() - started, 1)
    answer = inflight.InFlight(url(port), runtime.MODEL_ID, tokens, silence=SILENCE)
    answer.answering()
    time.sleep(1.0)
    row["exit s"] = round(terminate(process, target), 1)
    answer.join()
    row["the answer in flight"] = ended(answer)
    idle = serve(env, timeout, own_engine, port, log.with_suffix(".idle.log"))
    wait_healthy(port)
    row["exit s, idle"] = round(terminate(idle, "main"), 1)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=120)
    args = parser.parse_args()
    env = runtime.installed()
    if env is None:
        raise SystemExit("No runtime: make prepare first.")
    rows = [one_case(env, *case, args.tokens) for case in CASES]
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")


if __name__ == "__main__":
    main()
