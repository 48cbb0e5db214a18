"""A base model, as the blog serves: completions work, chats are refused with the reason.

The ``local-base`` overlay serves the stand-in's weights without its chat template, and
the same real vLLM answers chats with the 400 it gives the blog's Mistral-7B-v0.1-AWQ.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import tutorial_lib as tl
from tests.cluster.conftest import NOTEBOOKS, execute
from tutorial_lib.tools.manifests import OVERLAY_ENV


@pytest.fixture
def base_model(connection, monkeypatch) -> Iterator[tl.Connection]:
    """vLLM serving the template-less stand-in (the next ``ensure_serving`` switches back)."""
    monkeypatch.setenv(OVERLAY_ENV, "local-base")
    tl.ensure_serving(connection, timeout=600)
    yield connection


def test_a_base_model_completes_refuses_chats_with_the_reason_and_serves_notebooks_05_and_06(
    base_model,
):
    """One test, so the model is switched once (a vLLM start each way), not once per check."""
    with tl.port_forward(base_model) as tunnel:
        assert not tl.has_chat_template(tunnel.url)
        with pytest.raises(tl.errors.NoChatTemplate) as refused:
            tl.chat(tunnel.url, "What is Kubernetes?", max_tokens=5)
        answer = tl.ask(tunnel.url, "What is Kubernetes?", max_tokens=20, temperature=0)
    assert refused.value.status == 400
    assert "base model" in refused.value.message and "tl.complete" in refused.value.hint
    assert "chat template" in str(refused.value.__cause__)  # vLLM's own words, kept
    assert answer.completion_tokens > 0 and answer.text
    for name in ("05_monitoring.ipynb", "06_smoke_test.ipynb"):
        execute(NOTEBOOKS / name)  # the kernel inherits VLLM_TUTORIAL_OVERLAY=local-base


def test_the_instruct_stand_in_takes_chats(serving):
    with tl.port_forward(serving) as tunnel:
        assert tl.has_chat_template(tunnel.url)
        assert tl.chat(tunnel.url, "What is Kubernetes?", max_tokens=5).completion_tokens > 0
