"""``make demo``: the blog's deployment on the local cluster, end to end.

Local cluster up; ``manifests/overlays/local`` applied; the pod followed to Ready while
vLLM's startup lines stream by; the startup memory figures; the blog's question as a chat
completion with time to first token. Idempotent: a second run reuses everything.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from tqdm.auto import tqdm

from tutorial_lib import completions, kube, podlogs, wait
from tutorial_lib.errors import TutorialError
from tutorial_lib.portforward import PortForward
from tutorial_lib.startup import StartupLogParser

OVERLAY = Path(__file__).resolve().parent.parent / "manifests" / "overlays" / "local"
#: The stand-in model speaks English only; the blog asked Mistral in German.
QUESTION = "What is Kubernetes? Answer in one sentence."
BLOG_ANSWER = (
    "Kubernetes ist eine Open-Source-Plattform zur Automatisierung der "
    "Bereitstellung, Skalierung und Verwaltung von Container-Anwendungen."
)


def _print_startup_line(parser: StartupLogParser) -> Callable[[str], None]:
    def on_line(line: str) -> None:
        if "Route:" in line:
            return
        found = parser.feed(line)
        marker = "  *" if found else "   "
        tqdm.write(f"{marker} {line[:170]}")

    return on_line


def main() -> int:
    try:
        cluster = kube.connect(local=True)
        print(f"\nConnected to {cluster}.\nApplying manifests/overlays/local:")
        print(kube.apply(cluster, OVERLAY).to_string(index=False))
        parser = StartupLogParser()
        print("\nvLLM startup (lines with memory figures marked *):")
        pod = wait.wait_ready(cluster, on_line=_print_startup_line(parser))
        print(f"\nPod {pod.metadata.name} is Ready on node {pod.spec.nodeName}.")
        _figures_from_full_log(cluster, pod.metadata.name, parser)
        print("\nStartup figures (tutorial_lib.startup):")
        print(parser.figures.to_frame()[["figure", "value", "unit"]].to_string(index=False))
        with PortForward(cluster.kubectl, "svc/vllm-service", 8000) as tunnel:
            answer = completions.chat(tunnel.url, QUESTION, max_tokens=60, temperature=0.2)
        print(f"\nQ: {QUESTION}\nA: {answer.text}")
        print(
            f"   ({answer.model}: first token after {answer.time_to_first_token:.2f} s, "
            f"{answer.completion_tokens} tokens at {answer.tokens_per_second:.1f} tokens/s)"
        )
        print(f"\nThe blog's Mistral-7B on an L4, asked in German, answered:\n   {BLOG_ANSWER}")
    except TutorialError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    return 0


def _figures_from_full_log(cluster: kube.Cluster, pod: str, parser: StartupLogParser) -> None:
    """On a second run the pod started long ago: read its whole log instead of the stream."""
    if not parser.figures.found():
        for line in podlogs.logs(cluster, pod):
            parser.feed(line)


if __name__ == "__main__":
    sys.exit(main())
