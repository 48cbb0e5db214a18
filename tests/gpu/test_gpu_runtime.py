"""The GPU tier: the local cluster's GPU node on this machine's NVIDIA GPU, for real.

The runtime bridge starts vLLM's CUDA build for the blog's Deployment (overlay
``local-gpu``: the blog's args, the stand-in model; ``eks-l4``, the blog's manifests
unchanged, where the blog's model was downloaded), and what the tutorial teaches about
GPU memory is checked against what that vLLM states: the parser reads every figure of the
startup log, ``tl.sizing`` predicts the KV cache's tokens from its GiB, and the smoke test
passes. ``make test-gpu``; skipped where no GPU is (CI has none), its runs recorded in
docs/benchmarks.md. With ``VLLM_TUTORIAL_GPU_RECORD=DIR`` the startup log is kept there,
to become a parser fixture (tests/unit/fixtures/gpu).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import tutorial_lib as tl
from tests.helpers import GPU_STARTUP_FIGURES, PASSED_ONLY
from tutorial_lib import names
from tutorial_lib.domain import sizing, startup
from tutorial_lib.local import blog_model, gpus, runtime

BACKING = gpus.backing()
#: The blog's model where ``prepare`` could download it (and it is not switched off), else
#: the stand-in.
BLOG_MODEL = blog_model.cached() if blog_model.serves() else None
pytestmark = pytest.mark.skipif(
    not BACKING,
    reason="no NVIDIA GPU that vLLM's CUDA build can use here (python -m tutorial_lib.local "
    "doctor says why): the gpu tier runs where one is",
)


@pytest.fixture(scope="module")
def serving(local_cluster) -> tuple[tl.Connection, str]:
    """The blog's Deployment Ready on the GPU node, and its pod's startup log."""
    connection = tl.connect(local=True)
    pod = tl.ensure_serving(connection, timeout=360)
    log = "\n".join(tl.logs(connection, pod.name))
    record = os.environ.get("VLLM_TUTORIAL_GPU_RECORD")
    if record:
        name = BACKING[0].product.lower()
        model = "mistral-7b-awq" if BLOG_MODEL else "smollm2"
        Path(record, f"cluster-{name}-{model}-vllm-{runtime.VLLM_VERSION}.log").write_text(
            log + "\n"
        )
    return connection, log


def test_the_gpu_node_offers_the_real_gpus_and_the_pod_gets_its_own(serving):
    connection, log = serving
    assert connection.overlay.name == ("eks-l4" if BLOG_MODEL else "local-gpu")
    assert runtime.installed() is not None and runtime.installed().build is runtime.Build.CUDA
    node = tl.ensure_serving(connection).node
    capacity = tl.get(connection, f"node/{node}")["status"]["capacity"]
    assert capacity[names.GPU_RESOURCE] == str(len(BACKING))
    assert "[bridge] this machine's GPU(s) 0" in log
    assert f"Initializing a V1 LLM engine (v{runtime.VLLM_VERSION})" in log


def test_every_memory_figure_of_the_real_log_is_read(serving):
    _, log = serving
    found = startup.parse_startup_log(log)
    wanted = [name for name in GPU_STARTUP_FIGURES if name not in PASSED_ONLY]
    assert [name for name in wanted if getattr(found, name) is None] == []
    assert found.gpu_memory_utilization == 0.88  # the blog's
    assert found.max_model_len == 4096
    assert found.total_gpu_memory_gib == pytest.approx(BACKING[0].memory_mib / 1024, rel=0.01)


def test_sizing_predicts_the_kv_cache_tokens_within_one_percent(serving):
    _, log = serving
    found = startup.parse_startup_log(log)
    config = (BLOG_MODEL or runtime.installed().model_snapshot) / "config.json"
    model = sizing.ModelSpec.from_config(json.loads(config.read_text()))
    predicted = sizing.kv_cache_capacity(model, found.kv_cache_gib, max_model_len=4096)
    assert predicted.tokens == pytest.approx(found.kv_cache_tokens, rel=0.01)


def test_the_smoke_test_passes_on_the_gpu(serving):
    connection, _ = serving
    report = tl.smoke_test(connection)
    assert report.passed, report
