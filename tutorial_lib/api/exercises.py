"""The checks of the exercises in which the reader writes the YAML.

Each check reads the reader's file, has the API server validate it as a dry run (nothing is
stored: a second NetworkPolicy or ServiceMonitor beside the tutorial's would change what
the cluster does), and judges it by what it would do: the policy engine's verdict on each
flow, the Prometheus Operator's choice of ServiceMonitors, the Service it would find. Any
correct answer passes, not only the solution's wording, and each failing check says what
to change.
"""

from __future__ import annotations

import copy
import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from tutorial_lib import names
from tutorial_lib.domain import flows
from tutorial_lib.errors import TutorialError
from tutorial_lib.kube import labels, objects, preflight
from tutorial_lib.kube.connection import Connection
from tutorial_lib.tools import manifests, netpol

COLUMNS = ["check", "ok", "what to change"]
_DRY_RUN = "the API server accepts it (dry run: nothing stored)"
_VLLM = repr(names.DEPLOYMENT)  # the container's name, as the manifests give it
#: Where vLLM serves its metrics: the Prometheus Operator's default path too.
METRICS_PATH = "/metrics"


@dataclass(frozen=True)
class Verdict:
    """An exercise's checks, one row each, with what to change where one fails."""

    exercise: str
    checks: pd.DataFrame

    @property
    def ok(self) -> bool:
        return bool(self.checks["ok"].all())

    @property
    def headline(self) -> str:
        if self.ok:
            return f"{self.exercise}: correct, all {len(self.checks)} checks pass."
        failed = int((~self.checks["ok"]).sum())
        return f"{self.exercise}: not yet, {failed} of {len(self.checks)} checks fail."

    def __str__(self) -> str:
        wrong = self.checks[~self.checks["ok"]]
        return "\n".join(
            [self.headline, *(f"- {r.check}: {r[COLUMNS[2]]}" for _, r in wrong.iterrows())]
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython's text form
        printer.text(str(self))

    def _repr_html_(self) -> str:
        return f"<p><b>{html.escape(self.headline)}</b></p>" + self.checks.to_html(index=False)


def _row(check: str, ok: bool, fix: str = "") -> dict[str, Any]:
    return dict(zip(COLUMNS, (check, ok, "" if ok else fix), strict=True))


def _verdict(exercise: str, rows: list[dict[str, Any]]) -> Verdict:
    return Verdict(exercise, pd.DataFrame(rows, columns=COLUMNS))


#: The reader's answer: a YAML file, or the object itself as a dict (as YAML would load it).
Source = str | Path | dict[str, Any]


def _one_of_kind(source: Source, kind: str) -> dict[str, Any]:
    """The one object of ``kind`` in the reader's answer (a copy: judging changes it)."""
    found = [source] if isinstance(source, dict) else manifests.render(source)
    found = [copy.deepcopy(obj) for obj in found if obj.get("kind") == kind]
    if len(found) != 1:
        raise TutorialError(
            f"{_name(source)} holds {len(found)} objects of kind {kind}; the exercise needs one.",
            f"Keep one object with 'kind: {kind}' in the file, and run its cell again.",
        )
    return found[0]


def _name(source: Source) -> str:
    return "the object given" if isinstance(source, dict) else str(source)


def _accepted(cluster: Connection, obj: dict[str, Any], source: Source) -> dict[str, Any]:
    """The API server's dry run of ``obj`` in the reader's namespace: valid, or why not."""
    moved = manifests.moved([obj], cluster.namespace)[0]
    moved["metadata"]["namespace"] = cluster.namespace
    try:
        objects.apply_objects(cluster, [moved], _name(source), dry_run=True)
    except TutorialError as refused:
        return _row(_DRY_RUN, False, refused.message)
    return _row(_DRY_RUN, True)


def _checked(exercise: str, source: Source, kind: str, judge: Callable[[dict], list]) -> Verdict:
    """Read the reader's object and judge it; a file that cannot be read is a failed check."""
    try:
        obj = _one_of_kind(source, kind)
    except TutorialError as unreadable:
        return _verdict(exercise, [_row(f"one {kind} in {_name(source)}", False, str(unreadable))])
    return _verdict(exercise, judge(obj))


def network_policy(cluster: Connection, source: Source) -> Verdict:
    """The reader's NetworkPolicy for the vLLM pods, judged flow by flow by the policy engine.

    The flows are notebook 02's (``tl.flows.TUTORIAL_FLOWS``), with the vLLM pod in the
    tutorial's namespace: a policy that names no namespace is put there.

    kubectl equivalent of the dry run: ``kubectl apply --dry-run=server -f <file>``.
    """

    def judge(policy: dict[str, Any]) -> list[dict[str, Any]]:
        policy["metadata"]["namespace"] = names.NAMESPACE
        pod_labels = dict(flows.VLLM.labels)
        selects = labels.matches(policy.get("spec", {}).get("podSelector"), pod_labels)
        rows = [
            _accepted(cluster, policy, source),
            _row(
                "its podSelector selects the vLLM pods",
                selects,
                f"spec.podSelector must match the pods' labels {pod_labels}: a policy that "
                "selects no pod changes nothing.",
            ),
        ]
        if not selects:
            return rows
        table = netpol.verdicts([policy], flows.TUTORIAL_FLOWS)
        for verdict in table.itertuples():
            said = "allowed" if verdict.allowed else "denied"
            rows.append(_row(f"{verdict.flow}: {said}", verdict.correct, flows.FIXES[verdict.flow]))
        return rows

    return _checked("Your NetworkPolicy", source, "NetworkPolicy", judge)


def service_monitor(cluster: Connection, source: Source) -> Verdict:
    """The reader's ServiceMonitor, judged by whether Prometheus would scrape vLLM through it.

    Three things must hold, and nothing reports an error when one does not: a Prometheus
    selects the ServiceMonitor (by its labels), the ServiceMonitor selects the Service (by
    the Service's labels), and its endpoint names one of the Service's ports.

    kubectl equivalent: ``kubectl get prometheus -A -o yaml`` (the selectors), ``kubectl get
    service vllm-service -n ml-models --show-labels -o yaml`` (labels and port names).
    """

    def judge(monitor: dict[str, Any]) -> list[dict[str, Any]]:
        monitor = manifests.moved([monitor], cluster.namespace)[0]
        monitor["metadata"]["namespace"] = cluster.namespace
        chosen = preflight.monitor_selection(cluster, monitor, _name(source))
        rows = [
            _accepted(cluster, monitor, source),
            _row(
                "a Prometheus selects it",
                chosen.status == preflight.OK,
                f"{chosen.finding} {chosen.fix}".strip(),
            ),
        ]
        return rows + _service_rows(cluster, monitor["spec"])

    return _checked("Your ServiceMonitor", source, "ServiceMonitor", judge)


def _service_rows(cluster: Connection, spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Whether the monitor finds the tutorial's Service, its port, and vLLM's metrics path."""
    try:
        service = objects.get(cluster, f"service/{names.SERVICE}")
    except TutorialError as missing:
        return [_row(f"it selects {names.SERVICE}", False, str(missing))]
    own = service["metadata"].get("labels") or {}
    chosen = spec.get("namespaceSelector") or {}
    in_namespace = chosen.get("any") or cluster.namespace in chosen.get("matchNames", [])
    in_namespace = in_namespace or not chosen  # none: the ServiceMonitor's own namespace
    ports = [port.get("name") for port in service["spec"].get("ports", [])]
    endpoints = spec.get("endpoints") or [{}]
    return [
        _row(
            f"its selector selects {names.SERVICE}",
            labels.matches(spec.get("selector"), own),
            f"spec.selector.matchLabels must match the Service's labels, {own}.",
        ),
        _row(
            f"its namespaceSelector includes {cluster.namespace}",
            bool(in_namespace),
            f"spec.namespaceSelector.matchNames must list {cluster.namespace}, or leave "
            "namespaceSelector out (then: the ServiceMonitor's own namespace).",
        ),
        _row(
            "each endpoint names a port of the Service",
            all(endpoint.get("port") in ports for endpoint in endpoints),
            f"endpoints[].port is the Service port's *name*, one of {ports}; a number or "
            "another name gives no target.",
        ),
        _row(
            f"each endpoint scrapes {METRICS_PATH}",
            all(endpoint.get("path", METRICS_PATH) == METRICS_PATH for endpoint in endpoints),
            f"vLLM serves its metrics on {METRICS_PATH}; another path answers 404.",
        ),
    ]


#: How long the startup probe must let vLLM start on the blog's L4: the first start on a new
#: node pulls the image and downloads the weights (notebook 03's table: 3-5 minutes), and a
#: slow mirror or a larger model doubles that.
STARTUP_BUDGET_S = 600
#: How often the startup probe must ask: a vLLM that is up is seen within this many seconds.
STARTUP_PERIOD_S = 10


def startup_probe(cluster: Connection, source: Source) -> Verdict:
    """The reader's patch for the Deployment's startup probe, judged by the Deployment it makes.

    The API server merges the patch as ``kubectl patch`` does (a strategic merge: containers
    by name, fields left out keep their values) in a dry run; the checks read the result.

    kubectl equivalent: ``kubectl patch deploy/vllm -n ml-models --patch-file <file>
    --dry-run=server -o yaml``.
    """
    exercise = "Your startup probe"
    try:
        change = source if isinstance(source, dict) else yaml.safe_load(Path(source).read_text())
    except (OSError, yaml.YAMLError) as unreadable:
        return _verdict(exercise, [_row(f"a patch in {source}", False, str(unreadable))])
    before = objects.get(cluster, f"deploy/{names.DEPLOYMENT}")
    proc = cluster.run_kubectl(
        "patch", f"deploy/{names.DEPLOYMENT}", "-n", cluster.namespace, "--type=strategic",
        "-p", json.dumps(change), "--dry-run=server", "-o", "json",
    )  # fmt: skip
    refused = proc.stderr.strip()
    if "image: Required value" in refused:  # the patch named a container the pod lacks
        refused += (
            f" Containers merge by name: a patch for another container than {_VLLM} adds one."
        )
    accepted = _row(_DRY_RUN, proc.returncode == 0, refused)
    if proc.returncode != 0:
        return _verdict(exercise, [accepted])
    return _verdict(exercise, [accepted, *_probe_rows(before, json.loads(proc.stdout))])


def _probe_rows(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
        return deployment["spec"]["template"]["spec"]["containers"]

    names_before = [c["name"] for c in containers(before)]
    vllm = next(c for c in containers(after) if c["name"] == names.DEPLOYMENT)
    probe = vllm.get("startupProbe") or {}
    asks = probe.get("httpGet") or {}
    ports = {p.get("name") for p in vllm.get("ports", [])} | {
        p["containerPort"] for p in vllm.get("ports", [])
    }
    period = probe.get("periodSeconds", 10)
    budget = probe.get("initialDelaySeconds", 0) + probe.get("failureThreshold", 3) * period
    return [
        _row(
            "it changes the vllm container and adds none",
            [c["name"] for c in containers(after)] == names_before,
            f"Containers merge by name: a patch that names another container than "
            f"{names_before} adds one. Name it {_VLLM}.",
        ),
        _row(
            "the probe asks vLLM's /health",
            asks.get("path") == "/health",
            "httpGet.path: /health, vLLM's liveness endpoint (200 once the model is loaded).",
        ),
        _row(
            "on vLLM's port",
            asks.get("port") in ports,
            f"httpGet.port: one of the container's ports, {sorted(map(str, ports))}.",
        ),
        _row(
            f"it gives vLLM {STARTUP_BUDGET_S // 60} minutes to start (it gives {budget} s)",
            budget >= STARTUP_BUDGET_S,
            "initialDelaySeconds + failureThreshold x periodSeconds is how long the kubelet "
            f"waits before it restarts the container: make it at least {STARTUP_BUDGET_S} s.",
        ),
        _row(
            f"it sees a started vLLM within {STARTUP_PERIOD_S} s",
            period <= STARTUP_PERIOD_S,
            f"periodSeconds at most {STARTUP_PERIOD_S}: the pod is Ready only after the first "
            "probe that succeeds.",
        ),
    ]
