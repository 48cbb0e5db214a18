r"""Completions and chats against vLLM's OpenAI-compatible API, with timing.

Uses the official ``openai`` client, as any application would; streams so that the time to
first token (what a user of a chat UI waits for) is measured, not guessed.

kubectl/curl equivalent::

    curl http://localhost:8000/v1/chat/completions -H 'Content-Type: application/json' \
      -d '{"model": "...", "messages": [{"role": "user", "content": "What is Kubernetes?"}]}'
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import openai

from tutorial_lib import names
from tutorial_lib.errors import NoChatTemplate, NotReadyError, ServingError


@dataclass(frozen=True)
class Completion:
    """A finished answer with the figures a user and an operator care about."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    time_to_first_token: float
    total_seconds: float
    finish_reason: str | None

    @property
    def tokens_per_second(self) -> float:
        """Generation speed after the first token."""
        decode = self.total_seconds - self.time_to_first_token
        return (
            (self.completion_tokens - 1) / decode
            if decode > 0 and self.completion_tokens > 1
            else 0.0
        )

    def _repr_html_(self) -> str:
        return (
            f"<blockquote>{html.escape(self.text)}</blockquote><p><small>{self.model} · "
            f"{self.prompt_tokens} prompt + {self.completion_tokens} completion tokens · "
            f"first token after {self.time_to_first_token:.2f} s · "
            f"{self.tokens_per_second:.1f} tokens/s</small></p>"
        )


def root_url(base_url: str) -> str:
    """``base_url`` as vLLM's root (``http://host:port``), or at once a clear error.

    Without a scheme every request fails the same way, and retrying for a minute would only
    hide the typo.
    """
    if not base_url.startswith(("http://", "https://")):
        raise ServingError(
            f"{base_url!r} is not a URL vLLM can be reached at: it needs http:// or https://.",
            f"Write http://{base_url.removeprefix('//')} (a port-forward's URL, e.g. "
            "tl.port_forward(cluster).url, is one already).",
        )
    return base_url.rstrip("/")


def client(base_url: str, timeout: float = 120.0) -> openai.OpenAI:
    """An OpenAI client for vLLM at ``base_url`` (vLLM needs no API key unless set)."""
    return openai.OpenAI(
        base_url=root_url(base_url) + "/v1", api_key="not-needed", timeout=timeout, max_retries=0
    )


def wait_until_serving(base_url: str, attempts: int = 30, delay: float = 2.0) -> None:
    """Bounded retries on ``/health``: a just-started server refuses connections at first.

    A 404 is no start-up: something else answers there (or the URL ends in ``/v1``).
    """
    health = root_url(base_url) + "/health"
    last = ""
    for _ in range(attempts):
        try:
            status = httpx.get(health, timeout=5).status_code
        except httpx.HTTPError as exc:
            last = str(exc)
        else:
            if status == 200:
                return
            if status == 404:
                raise ServingError(
                    f"{health} answered 404: what listens at {base_url} is not vLLM's root.",
                    "Give the server's root URL, without /v1 (vLLM serves /health and /v1/...): "
                    "a port-forward to the vLLM Service, e.g. tl.port_forward(cluster).url.",
                )
            last = f"/health answered {status}"
        time.sleep(delay)
    raise NotReadyError(
        f"vLLM at {base_url} did not answer /health after {attempts} tries ({last}).",
        f"Wait for the pod to be Ready (kubectl get pods -n {names.NAMESPACE}) and for the "
        "port-forward to be open, then ask again.",
    )


def served_model(base_url: str) -> str:
    """The model id the server offers (GET /v1/models): its base model."""
    return served_models(base_url)[0]


def served_models(base_url: str) -> list[str]:
    """Every model id the server answers to: the base model, then each LoRA adapter."""
    return [model.id for model in client(base_url).models.list().data]


#: vLLM's words when a chat needs a template the tokenizer does not define.
_NO_TEMPLATE = "chat template"


def has_chat_template(base_url: str, model: str | None = None) -> bool:
    """Does the served model take chats? Asked of the server, not guessed from its name.

    vLLM's ``/tokenize`` applies the chat template to a message without generating
    anything; a model without one (a base model) is refused there as a chat would be.
    """
    wait_until_serving(base_url)
    return _takes_chats(base_url, model or served_model(base_url))


def _takes_chats(base_url: str, model: str) -> bool:
    body = {"model": model, "messages": [{"role": "user", "content": "Hello"}]}
    try:
        response = httpx.post(base_url.rstrip("/") + "/tokenize", json=body, timeout=30)
    except httpx.HTTPError as exc:
        raise ServingError(f"vLLM at {base_url} did not answer /tokenize: {exc}") from exc
    if response.status_code == 200:
        return True
    if response.status_code == 400 and _NO_TEMPLATE in response.text:
        return False
    raise ServingError(
        f"vLLM at {base_url} answered /tokenize with {response.status_code}: {response.text}",
        status=response.status_code,
    )


def base_model_prompt(question: str) -> str:
    """A question as a base model continues it best: as the start of a text to complete."""
    return f"Q: {question}\nA:"


def chat(
    base_url: str,
    prompt: str,
    *,
    model: str | None = None,
    max_tokens: int = 100,
    temperature: float = 0.7,
    system: str | None = None,
) -> Completion:
    """Ask a chat model one question, streaming, and time the answer."""
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]
    return _timed(
        base_url,
        model,
        lambda api, name: api.chat.completions.create(
            model=name,
            messages=messages,
            max_tokens=max_tokens,
            temperature=temperature,
            **_STREAMING,
        ),
        lambda choice: choice.delta.content,
    )


def complete(
    base_url: str,
    prompt: str,
    *,
    model: str | None = None,
    max_tokens: int = 100,
    temperature: float = 0.7,
) -> Completion:
    """A plain completion (the blog's ``/v1/completions`` request), streaming and timed."""
    return _timed(
        base_url,
        model,
        lambda api, name: api.completions.create(
            model=name, prompt=prompt, max_tokens=max_tokens, temperature=temperature, **_STREAMING
        ),
        lambda choice: choice.text,
    )


def ask(base_url: str, question: str, **options: Any) -> Completion:
    """A question, by the endpoint the served model takes.

    A chat for an instruct model; for a base model (which refuses chats) a completion of
    ``Q: ... A:``.
    """
    wait_until_serving(base_url)
    model = options.pop("model", None) or served_model(base_url)  # asked once, passed on
    if _takes_chats(base_url, model):
        return chat(base_url, question, model=model, **options)
    return complete(base_url, base_model_prompt(question), model=model, **options)


_STREAMING: dict[str, Any] = {"stream": True, "stream_options": {"include_usage": True}}


def _timed(
    base_url: str,
    model: str | None,
    request: Callable[[openai.OpenAI, str], Any],
    piece: Callable[[Any], str | None],
) -> Completion:
    """Wait for the server, send ``request`` and collect its stream with timings."""
    wait_until_serving(base_url)
    try:
        model = model or served_model(base_url)
        started = time.monotonic()
        return _collect(request(client(base_url), model), model, started, piece)
    except openai.BadRequestError as exc:
        if _NO_TEMPLATE in str(exc):
            raise NoChatTemplate(
                f"{model} is a base model: it has no chat template, so vLLM at {base_url} "
                "cannot turn chat messages into a prompt, and refuses the chat.",
                "Send it a completion instead (tl.complete, as the blog does with its "
                "[INST] ... [/INST] prompt), serve it with --chat-template <file>, or serve "
                "an instruct model. tl.ask picks the right endpoint by itself.",
                status=400,
            ) from exc
        raise _refused(base_url, exc) from exc
    except openai.APIError as exc:
        raise _refused(base_url, exc) from exc


def _refused(base_url: str, exc: openai.APIError) -> ServingError:
    return ServingError(
        f"vLLM at {base_url} refused the request: {exc}",
        "The message is vLLM's own: it names the parameter or limit at fault.",
        status=getattr(exc, "status_code", None),
    )


def _collect(
    stream: Any, model: str, started: float, piece: Callable[[Any], str | None]
) -> Completion:
    parts: list[str] = []
    first: float | None = None
    usage = None
    finish = None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            text = piece(choice)
            if text:
                first = first if first is not None else time.monotonic() - started
                parts.append(text)
            finish = choice.finish_reason or finish
    total = time.monotonic() - started
    return Completion(
        text="".join(parts).strip(),
        model=model,
        prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=usage.completion_tokens if usage else 0,
        time_to_first_token=first if first is not None else total,
        total_seconds=total,
        finish_reason=finish,
    )
