"""``tl.bench_serve``: vLLM's own benchmark against the tutorial's server, as a table row.

On the local cluster the runtime's ``vllm`` runs here, against the port-forwarded Service;
on a cluster of your own it runs inside the vLLM pod against its own port, where the image
has it (``kubectl exec deploy/vllm -- vllm bench serve --base-url http://127.0.0.1:8000``).
"""

from __future__ import annotations

import pandas as pd

from tutorial_lib import names
from tutorial_lib.errors import ServingError
from tutorial_lib.kube.connection import Connection
from tutorial_lib.serving import bench
from tutorial_lib.tools import process


def bench_serve(
    cluster: Connection,
    base_url: str,
    model: str,
    *,
    concurrency: int,
    num_prompts: int,
    input_len: int = 16,
    output_len: int = 32,
    timeout: float = 600,
) -> pd.Series:
    """``vllm bench serve`` at one concurrency; its result table, vLLM's row names kept.

    ``base_url`` is a port-forward to the Service (used on the local cluster).
    """
    options = bench.arguments(
        model,
        concurrency=concurrency,
        num_prompts=num_prompts,
        input_len=input_len,
        output_len=output_len,
    )
    if cluster.vllm_here:
        command = [*cluster.vllm_here, "bench", "serve", "--base-url", base_url, *options]
        done = process.run(command, timeout=timeout, what="vllm bench serve")
    else:
        inside = f"http://127.0.0.1:{names.HTTP_PORT}"
        exec_args = ["exec", "-n", cluster.namespace, f"deploy/{names.DEPLOYMENT}", "--"]
        done = cluster.run_kubectl(
            *exec_args, "vllm", "bench", "serve", "--base-url", inside, *options, timeout=timeout
        )
    result = bench.parse(done.stdout)
    if done.returncode != 0 or not result:
        raise ServingError(
            f"vllm bench serve failed (exit code {done.returncode}): "
            f"{(done.stderr or done.stdout).strip()[-1500:]}",
            "Its own message names the option or the connection at fault.",
        )
    return pd.Series(result, name=f"vllm bench serve, concurrency {concurrency}")
