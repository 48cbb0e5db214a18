"""The local cluster's monitoring: a real Prometheus, configured the way the Operator does it.

On EKS the Prometheus Operator (kube-prometheus-stack) watches ServiceMonitors and
PrometheusRules and rewrites Prometheus' configuration from them. Locally this daemon does
the same: it keeps a live copy of the objects involved (list, then watch; ``Mirror``) and
rewrites the files whenever one of them changes:

* each ServiceMonitor endpoint becomes a scrape job ``serviceMonitor/<ns>/<name>/<i>`` with
  the endpoint's interval, timeout and path;
* its targets follow the Operator's chain: the monitor's selector picks Services, their
  EndpointSlices list the pods, the endpoint's ``port`` names the Service port whose
  number the slice carries; labels ``job`` (the Service), ``namespace``, ``service``,
  ``pod``, ``endpoint`` and ``instance`` (pod IP and port) as the Operator sets them. One
  difference: only ready pods become targets here, while the Operator keeps not-ready ones
  and drops only Failed or Succeeded pods (prometheus-operator PR #5149);
* each PrometheusRule's ``spec.groups`` becomes a rule file;
* each job and rule file is checked with promtool first: a broken one is left out and
  reported on its object (``monitoring_check``), so one room's mistake stops no other room.

Like kube-prometheus-stack's Prometheus it loads only the ServiceMonitors and
PrometheusRules its selectors match (``SERVICE_MONITOR_SELECTOR``, ``RULE_SELECTOR``: the
label ``release: kube-prometheus-stack``, as the chart sets them for a release of that
name); the others are ignored, as the Operator ignores them, and named in the daemon's log.

One more local twist: a pod run by the runtime bridge listens on a local port, found in the
pod's kwok ``PortForward`` object; that address is scraped, the labels stay the pod's.
Supported: ``selector`` (``matchLabels``, ``matchExpressions``), ``namespaceSelector``
(``matchNames``, ``any``), endpoint ``port``, ``path``, ``interval``, ``scrapeTimeout``.

Started by ``python -m tutorial_lib.local up``, which runs ``main()`` in a process of its own.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tutorial_lib import names
from tutorial_lib.kube import events, labels
from tutorial_lib.kube.connection import Connection, from_kubeconfig
from tutorial_lib.kube.watch import Mirror, field_of
from tutorial_lib.local import (
    binaries,
    cluster,
    daemons,
    monitoring_check,
    paths,
    ports,
    prometheus_ui,
    versions,
)
from tutorial_lib.serving.promql import healthy

log = logging.getLogger(__name__)

#: The longest wait for a change: also how soon a crashed Prometheus is started again.
SYNC_SECONDS = 2.0
DEFAULT_INTERVAL = "30s"
#: Which ServiceMonitors and PrometheusRules this Prometheus loads: what kube-prometheus-stack
#: sets for the release named in ``names.PROMETHEUS_RELEASE`` (the component
#: manifests/components/prometheus-release labels ours to match).
SERVICE_MONITOR_SELECTOR = labels.release_selector()
RULE_SELECTOR = labels.release_selector()


def url() -> str:
    """Where the local Prometheus answers (its API; the web UI's assets are not built)."""
    return f"http://127.0.0.1:{ports.prometheus()}"


def ready() -> bool:
    """Prometheus answers ``/-/ready`` (not just: the daemon runs)."""
    return healthy(url())


def home() -> Path:
    return paths.state_dir() / "prometheus"


@dataclass
class Desired:
    """Prometheus' files as the cluster's objects say they should be, by relative path."""

    files: dict[str, str] = field(default_factory=dict)
    #: ``kind namespace/name`` of the objects the selectors left out.
    ignored: list[str] = field(default_factory=list)


def _key(obj: Any) -> tuple[str, str]:
    """(namespace, name): the order the API server lists objects in, for stable files."""
    return (
        field_of(obj, "metadata", "namespace") or "",
        field_of(obj, "metadata", "name") or "",
    )


def _local_addresses(forwards: Iterable[dict[str, Any]]) -> dict[tuple[str, str, int], str]:
    """(namespace, pod, port) → the local address the runtime bridge forwards it to."""
    found = {}
    for forward in forwards:
        namespace, name = _key(forward)
        for entry in (forward.get("spec") or {}).get("forwards") or []:
            target = entry.get("target") or {}
            for port in entry.get("ports") or []:
                address = f"{target.get('address', '127.0.0.1')}:{target['port']}"
                found[(namespace, name, int(port))] = address
    return found


def _namespaces(monitor: dict[str, Any]) -> list[str] | None:
    """The namespaces a ServiceMonitor looks in; None for all of them."""
    selector = (monitor.get("spec") or {}).get("namespaceSelector") or {}
    if selector.get("any"):
        return None
    return selector.get("matchNames") or [field_of(monitor, "metadata", "namespace")]


def _matches(obj: Any, selector: dict[str, Any]) -> bool:
    """The object's labels satisfy a LabelSelector (an empty selector: everything)."""
    return labels.matches(selector, field_of(obj, "metadata", "labels"))


def _target_groups(
    monitor: dict[str, Any],
    endpoint: dict[str, Any],
    services: list[Any],
    slices: list[Any],
    local: dict[tuple[str, str, int], str],
) -> list[dict[str, Any]]:
    selector = monitor["spec"].get("selector") or {}
    namespaces = _namespaces(monitor)
    groups = []
    for service in services:
        ns, name = _key(service)
        if not _matches(service, selector) or (namespaces is not None and ns not in namespaces):
            continue
        for piece in slices:
            of_service = {"matchLabels": {names.SERVICE_NAME_LABEL: name}}
            if _key(piece)[0] != ns or not _matches(piece, of_service):
                continue
            port = next(
                (
                    field_of(p, "port")
                    for p in field_of(piece, "ports") or []
                    if field_of(p, "name") == endpoint.get("port")
                ),
                None,
            )
            if port is None:
                continue
            for member in field_of(piece, "endpoints") or []:
                if field_of(member, "conditions", "ready") is False:
                    continue
                pod = field_of(member, "target_ref", "name") or ""
                for address in field_of(member, "addresses") or []:
                    groups.append(
                        {
                            "targets": [local.get((ns, pod, port), f"{address}:{port}")],
                            "labels": {
                                "job": name,
                                "namespace": ns,
                                "service": name,
                                "pod": pod,
                                "endpoint": str(endpoint.get("port", "")),
                                "instance": f"{address}:{port}",
                            },
                        }
                    )
    return groups


def desired(
    *,
    monitors: Iterable[dict[str, Any]] = (),
    rules: Iterable[dict[str, Any]] = (),
    services: Iterable[Any] = (),
    slices: Iterable[Any] = (),
    forwards: Iterable[dict[str, Any]] = (),
    monitor_selector: dict[str, Any] | None = SERVICE_MONITOR_SELECTOR,
    rule_selector: dict[str, Any] | None = RULE_SELECTOR,
) -> Desired:
    """The configuration, target files and rule files for the given objects.

    ``monitors``, ``rules`` and ``forwards`` are custom objects (dicts: ServiceMonitors,
    PrometheusRules, kwok PortForwards); ``services`` and ``slices`` are the client's
    typed Services and EndpointSlices (dicts work too). Only the monitors and rules the
    selectors match count (a Prometheus object's ``serviceMonitorSelector`` and
    ``ruleSelector``: ``None`` selects nothing, ``{}`` everything).
    """
    local = _local_addresses(forwards)
    services, slices = sorted(services, key=_key), sorted(slices, key=_key)
    result = Desired()
    monitors = _selected(monitors, monitor_selector, "ServiceMonitor", result.ignored)
    rules = _selected(rules, rule_selector, "PrometheusRule", result.ignored)
    jobs = []
    for monitor in monitors:
        namespace, name = _key(monitor)
        for index, endpoint in enumerate((monitor.get("spec") or {}).get("endpoints") or []):
            job = f"serviceMonitor/{namespace}/{name}/{index}"
            targets = f"targets/{namespace}_{name}_{index}.json"
            jobs.append(
                {
                    "job_name": job,
                    "scrape_interval": endpoint.get("interval", DEFAULT_INTERVAL),
                    "scrape_timeout": endpoint.get("scrapeTimeout", "10s"),
                    "metrics_path": endpoint.get("path", "/metrics"),
                    "file_sd_configs": [{"files": [str(home() / targets)]}],
                }
            )
            groups = _target_groups(monitor, endpoint, services, slices, local)
            result.files[targets] = json.dumps(groups, indent=1, sort_keys=True)
    for rule in rules:
        namespace, name = _key(rule)
        groups = {"groups": (rule.get("spec") or {}).get("groups") or []}
        result.files[f"rules/{namespace}_{name}.yaml"] = yaml.safe_dump(groups)
    result.files["prometheus.yml"] = _config(jobs)
    return result


def _selected(
    objects: Iterable[dict[str, Any]],
    selector: dict[str, Any] | None,
    kind: str,
    ignored: list[str],
) -> list[dict[str, Any]]:
    """The objects whose labels the selector matches, in order; the others into ``ignored``."""
    chosen = []
    for obj in sorted(objects, key=_key):
        if labels.matches(selector, field_of(obj, "metadata", "labels")):
            chosen.append(obj)
        else:
            ignored.append(f"{kind} {'/'.join(_key(obj))}")
    return chosen


def _config(jobs: list[dict]) -> str:
    config = {
        "global": {"scrape_interval": DEFAULT_INTERVAL, "evaluation_interval": "30s"},
        "rule_files": [str(home() / "rules" / "*.yaml")],
        "scrape_configs": jobs,
    }
    return yaml.safe_dump(config, sort_keys=False)


def write(wanted: Desired) -> bool:
    """Bring the files on disk to ``wanted``; True when Prometheus must reload."""
    reload = False
    for folder in ("targets", "rules"):
        (home() / folder).mkdir(parents=True, exist_ok=True)
        for stale in (home() / folder).iterdir():
            relative = f"{folder}/{stale.name}"
            if relative not in wanted.files:
                stale.unlink()
                reload = reload or folder == "rules"
    for relative, text in wanted.files.items():
        path = home() / relative
        if path.exists() and path.read_text() == text:
            continue
        temporary = path.with_name(f".{path.name}.tmp")  # outside file_sd's glob
        temporary.write_text(text)
        temporary.replace(path)
        reload = reload or not relative.startswith("targets/")
    return reload


def _start_prometheus(binary: Path) -> subprocess.Popen[bytes]:
    (home() / "data").mkdir(parents=True, exist_ok=True)
    prometheus_ui.link(home())  # a binary built from the module serves the UI from there
    return subprocess.Popen(
        [
            str(binary),
            f"--config.file={home() / 'prometheus.yml'}",
            f"--storage.tsdb.path={home() / 'data'}",
            "--storage.tsdb.retention.time=1d",
            f"--web.listen-address=127.0.0.1:{ports.prometheus()}",
        ],
        cwd=home(),
        stdin=subprocess.DEVNULL,
        preexec_fn=daemons.die_with_parent,  # the daemon is single-threaded
    )


class Objects:
    """Live copies of the five kinds ``desired`` reads; every change sets ``changed``."""

    def __init__(self, connection: Connection, changed: threading.Event) -> None:
        custom, core = connection.custom, connection.core

        def mirror(list_call: Any, *args: Any) -> Mirror:
            return Mirror(connection, list_call, *args, changed=changed)

        self._mirrors = {
            "monitors": mirror(
                custom.list_cluster_custom_object,
                names.MONITORING_GROUP,
                names.MONITORING_VERSION,
                "servicemonitors",
            ),
            "rules": mirror(
                custom.list_cluster_custom_object,
                names.MONITORING_GROUP,
                names.MONITORING_VERSION,
                "prometheusrules",
            ),
            "forwards": mirror(
                custom.list_cluster_custom_object,
                versions.KWOK_GROUP,
                versions.KWOK_VERSION,
                "portforwards",
            ),
            "services": mirror(core.list_service_for_all_namespaces),
            "slices": mirror(connection.discovery.list_endpoint_slice_for_all_namespaces),
        }

    @property
    def synced(self) -> bool:
        """Every kind listed at least once: the files would not miss a target."""
        return all(mirror.synced.is_set() for mirror in self._mirrors.values())

    def desired(self) -> Desired:
        return desired(**{kind: mirror.objects() for kind, mirror in self._mirrors.items()})

    def stop(self) -> None:
        for mirror in self._mirrors.values():
            mirror.stop()


def run(connection: Connection, stopping: threading.Event) -> None:
    """Keep Prometheus running and its files in step with the cluster."""
    found = binaries.ensure("prometheus", "promtool")
    binary, promtool = found["prometheus"], monitoring_check.Promtool(found["promtool"])
    write(Desired({"prometheus.yml": _config([])}))  # nothing to scrape until the first sync
    prometheus = _start_prometheus(binary)
    changed = threading.Event()
    objects = Objects(connection, changed)
    ignored: list[str] = []
    reported: set[monitoring_check.Refusal] = set()
    while not stopping.is_set():
        changed.wait(SYNC_SECONDS)  # also the pace of checking on Prometheus itself
        if stopping.is_set():
            break
        changed.clear()  # a change from here on triggers the next round
        if prometheus.poll() is not None:
            log.warning("Prometheus exited with %s; starting it again", prometheus.returncode)
            prometheus = _start_prometheus(binary)
        if not objects.synced:
            continue
        wanted = objects.desired()
        if wanted.ignored != ignored:
            ignored = wanted.ignored
            log.info(
                "ignored, as their labels do not match serviceMonitorSelector %s or "
                "ruleSelector %s: %s",
                labels.describe(SERVICE_MONITOR_SELECTOR),
                labels.describe(RULE_SELECTOR),
                ", ".join(ignored) or "none",
            )
        refusals = set(monitoring_check.leave_out_refused(wanted.files, promtool.problem))
        for refusal in refusals - reported:
            log.warning("%s %s/%s left out: %s", *astuple(refusal))
            _report(connection, refusal)
        reported = refusals
        if write(wanted):
            log.info("configuration changed; reloading Prometheus")
            prometheus.send_signal(signal.SIGHUP)
    objects.stop()
    daemons.end_child(prometheus)


def _report(connection: Connection, refusal: monitoring_check.Refusal) -> None:
    """A Warning event on the refused object: its room sees it with ``kubectl describe``."""
    involved = {
        "apiVersion": f"{names.MONITORING_GROUP}/{names.MONITORING_VERSION}",
        "kind": refusal.kind,
        "namespace": refusal.namespace,
        "name": refusal.name,
    }
    source = {"component": "vllm-tutorial-monitoring"}
    events.warn(connection, involved, "NotLoaded", refusal.message(), source)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # urllib3 warns at every retry while the API server restarts; the watches wait it out.
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    connection = from_kubeconfig(paths.kubeconfig_path(), cluster.CONTEXT, local=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    os.makedirs(home(), exist_ok=True)
    run(connection, stopping)


if __name__ == "__main__":
    main()
