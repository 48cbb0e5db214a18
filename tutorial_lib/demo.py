"""``make demo``: the blog's deployment on the local cluster, end to end.

Local cluster up; ``manifests/overlays/local`` applied; the pod followed to Ready while
vLLM's startup lines stream by; the startup memory figures; the blog's question as a chat
completion with time to first token; the blog's smoke test. Idempotent: a second run
reuses everything.
"""

from __future__ import annotations

import sys

from tutorial_lib.api.connect import connect
from tutorial_lib.api.live import LiveStartup
from tutorial_lib.api.smoke import smoke_test
from tutorial_lib.errors import TutorialError
from tutorial_lib.kube.objects import apply
from tutorial_lib.kube.portforward import port_forward
from tutorial_lib.kube.waits import wait_ready
from tutorial_lib.serving import completions

#: The stand-in model speaks English only; the blog asks Mistral in German.
QUESTION = "What is Kubernetes? Answer in one sentence."
#: The answer the blog shows as one to expect ("Erwartete Antwort (ungefähr)"), not a recorded
#: one: its response has placeholders ("id": "cmpl-xxx", "created": 1234567890).
BLOG_ANSWER = (
    "Kubernetes ist eine Open-Source-Plattform zur Automatisierung der "
    "Bereitstellung, Skalierung und Verwaltung von Container-Anwendungen."
)


def main() -> int:
    try:
        cluster = connect(local=True)
        print(f"\nConnected to {cluster}.\nApplying manifests/overlays/local:")
        print(apply(cluster, cluster.overlay).to_string(index=False))
        live = LiveStartup(table=False)
        print("\nvLLM startup (lines with memory figures marked *):")
        pod = wait_ready(cluster, on_line=live)
        print(f"\nPod {pod.name} is Ready on node {pod.node}.")
        figures = live.catch_up(cluster, pod.name)
        print("\nStartup figures (tutorial_lib.domain.startup):")
        print(figures.to_frame()[["figure", "value", "unit"]].to_string(index=False))
        with port_forward(cluster) as tunnel:
            answer = completions.chat(tunnel.url, QUESTION, max_tokens=60, temperature=0.2)
        print(f"\nQ: {QUESTION}\nA: {answer.text}")
        print(
            f"   ({answer.model}: first token after {answer.time_to_first_token:.2f} s, "
            f"{answer.completion_tokens} tokens at {answer.tokens_per_second:.1f} tokens/s)"
        )
        print(f"\nThe answer the blog expects from Mistral-7B, asked in German:\n   {BLOG_ANSWER}")
        report = smoke_test(cluster)
        print(f"\n{report}")
        if not report.passed:
            return 1
    except TutorialError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
