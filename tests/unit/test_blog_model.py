"""Which GPUs get the blog's model: those its AWQ kernels and the blog's args fit.

A GPU that cannot start it keeps the stand-in, and ``doctor`` (``plan``) says why, instead
of a download of 4 GB for a pod that fails. The download itself: tests/tools.
"""

from __future__ import annotations

import pytest

from tests.helpers import H100, fake_nvidia_smi
from tutorial_lib.local import blog_model, gpus

T4 = "0, Tesla T4, 580.95.05, 15360, 7.5"
V100 = "0, Tesla V100-SXM2-16GB, 580.95.05, 16384, 7.0"
SIX_GIB = "0, NVIDIA GeForce RTX 2060, 580.95.05, 6144, 7.5"


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (H100, "once the first `make prepare` or `up` downloads it"),
        (T4, "once the first `make prepare` or `up` downloads it"),
        (V100, "the stand-in (no GPU backs the node)"),  # CUDA 13.0 dropped Volta
        (SIX_GIB, "the stand-in (6.0 GiB of NVIDIA GeForce RTX 2060 cannot hold it"),
    ],
)
def test_only_a_gpu_that_can_serve_it_gets_the_blogs_model(monkeypatch, tmp_path, answer, said):
    monkeypatch.setenv("VLLM_TUTORIAL_CACHE", str(tmp_path / "cache"))
    for name in ("VLLM_TUTORIAL_OFFLINE", "HF_HUB_OFFLINE", blog_model.SWITCH, gpus.SWITCH):
        monkeypatch.delenv(name, raising=False)
    fake_nvidia_smi(tmp_path, answer)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    assert said in blog_model.plan()


def test_switched_off_the_downloaded_model_serves_no_more(monkeypatch, tmp_path):
    snapshot = blog_model.repo(tmp_path) / "snapshots" / "c0ffee"
    snapshot.mkdir(parents=True)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("c0ffee")
    for name in ("config.json", "model.safetensors"):
        (snapshot / name).write_text("{}")
    monkeypatch.delenv(blog_model.SWITCH, raising=False)
    assert blog_model.serves(tmp_path)
    monkeypatch.setenv(blog_model.SWITCH, "off")
    assert not blog_model.serves(tmp_path) and blog_model.cached(tmp_path) == snapshot
