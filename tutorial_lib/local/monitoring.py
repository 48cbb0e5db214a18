"""The local cluster's monitoring: a real Prometheus, configured the way the Operator does it.

On EKS the Prometheus Operator (kube-prometheus-stack) watches ServiceMonitors and
PrometheusRules and rewrites Prometheus' configuration from them. Locally this daemon does
the same, every few seconds:

* each ServiceMonitor endpoint becomes a scrape job ``serviceMonitor/<ns>/<name>/<i>`` with
  the endpoint's interval, timeout and path;
* its targets follow the Operator's chain: the monitor's selector picks Services, their
  EndpointSlices list the ready pods, the endpoint's ``port`` names the Service port whose
  number the slice carries; labels ``job`` (the Service), ``namespace``, ``service``,
  ``pod``, ``endpoint`` and ``instance`` (pod IP and port) as the Operator sets them;
* each PrometheusRule's ``spec.groups`` becomes a rule file.

The only local twist: a pod run by the runtime bridge listens on a local port, found in the
pod's kwok ``PortForward`` object; that address is scraped, the labels stay the pod's.
Supported: ``selector.matchLabels``, ``namespaceSelector`` (``matchNames``, ``any``),
endpoint ``port``, ``path``, ``interval``, ``scrapeTimeout``.

Run by ``python -m tutorial_lib.local up`` as ``python -m tutorial_lib.local.monitoring``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx  # what lightkube raises for connection errors
import yaml
from lightkube import ALL_NS, Client, KubeConfig
from lightkube.core.exceptions import ApiError
from lightkube.resources.core_v1 import Service
from lightkube.resources.discovery_v1 import EndpointSlice

from tutorial_lib.crds import PortForward, PrometheusRule, ServiceMonitor
from tutorial_lib.local import binaries, cluster, daemons, paths

log = logging.getLogger("tutorial_lib.monitoring")

PORT = 39090
SYNC_SECONDS = 2.0
DEFAULT_INTERVAL = "30s"
FIELD_MANAGER = "vllm-tutorial-monitoring"


def url() -> str:
    """Where the local Prometheus answers (its API; the web UI's assets are not built)."""
    return f"http://127.0.0.1:{PORT}"


def ready() -> bool:
    """Prometheus answers ``/-/ready`` (not just: the daemon runs)."""
    try:
        with urllib.request.urlopen(url() + "/-/ready", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def home() -> Path:
    return paths.state_dir() / "prometheus"


@dataclass
class Desired:
    """Prometheus' files as the cluster's objects say they should be, by relative path."""

    files: dict[str, str] = field(default_factory=dict)


def _local_addresses(client: Client) -> dict[tuple[str, str, int], str]:
    """(namespace, pod, port) → the local address the runtime bridge forwards it to."""
    found = {}
    for forward in client.list(PortForward, namespace=ALL_NS):
        meta = forward.metadata
        for entry in forward.get("spec", {}).get("forwards", []):
            target = entry.get("target", {})
            for port in entry.get("ports", []):
                address = f"{target.get('address', '127.0.0.1')}:{target['port']}"
                found[(meta.namespace, meta.name, int(port))] = address
    return found


def _namespaces(monitor: Any) -> list[str] | None:
    """The namespaces a ServiceMonitor looks in; None for all of them."""
    selector = monitor.get("spec", {}).get("namespaceSelector", {})
    if selector.get("any"):
        return None
    return selector.get("matchNames") or [monitor.metadata.namespace]


def _target_groups(
    client: Client, monitor: Any, endpoint: dict, local: dict[tuple[str, str, int], str]
) -> list[dict]:
    selector = monitor["spec"].get("selector", {}).get("matchLabels", {})
    groups = []
    for namespace in _namespaces(monitor) or [ALL_NS]:
        for service in client.list(Service, namespace=namespace, labels=selector):
            ns, name = service.metadata.namespace, service.metadata.name
            slices = client.list(
                EndpointSlice, namespace=ns, labels={"kubernetes.io/service-name": name}
            )
            for piece in slices:
                port = next(
                    (p.port for p in piece.ports or [] if p.name == endpoint.get("port")), None
                )
                if port is None:
                    continue
                for member in piece.endpoints or []:
                    if member.conditions is not None and member.conditions.ready is False:
                        continue
                    pod = member.targetRef.name if member.targetRef else ""
                    for address in member.addresses:
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


def desired(client: Client) -> Desired:
    """The configuration, target files and rule files for the cluster's current objects."""
    local = _local_addresses(client)
    result = Desired()
    jobs = []
    for monitor in client.list(ServiceMonitor, namespace=ALL_NS):
        meta = monitor.metadata
        for index, endpoint in enumerate(monitor["spec"].get("endpoints", [])):
            job = f"serviceMonitor/{meta.namespace}/{meta.name}/{index}"
            targets = f"targets/{meta.namespace}_{meta.name}_{index}.json"
            jobs.append(
                {
                    "job_name": job,
                    "scrape_interval": endpoint.get("interval", DEFAULT_INTERVAL),
                    "scrape_timeout": endpoint.get("scrapeTimeout", "10s"),
                    "metrics_path": endpoint.get("path", "/metrics"),
                    "file_sd_configs": [{"files": [str(home() / targets)]}],
                }
            )
            groups = _target_groups(client, monitor, endpoint, local)
            result.files[targets] = json.dumps(groups, indent=1, sort_keys=True)
    for rule in client.list(PrometheusRule, namespace=ALL_NS):
        meta = rule.metadata
        groups = {"groups": rule.get("spec", {}).get("groups", [])}
        result.files[f"rules/{meta.namespace}_{meta.name}.yaml"] = yaml.safe_dump(groups)
    result.files["prometheus.yml"] = _config(jobs)
    return result


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
    return subprocess.Popen(
        [
            str(binary),
            f"--config.file={home() / 'prometheus.yml'}",
            f"--storage.tsdb.path={home() / 'data'}",
            "--storage.tsdb.retention.time=1d",
            f"--web.listen-address=127.0.0.1:{PORT}",
        ],
        cwd=home(),
        stdin=subprocess.DEVNULL,
        preexec_fn=daemons.die_with_parent,  # the daemon is single-threaded
    )


def run(client: Client, stopping: threading.Event) -> None:
    """Keep Prometheus running and its files in step with the cluster."""
    binary = binaries.ensure_binaries(("prometheus",))["prometheus"]
    write(Desired({"prometheus.yml": _config([])}))  # nothing to scrape until the first sync
    prometheus = _start_prometheus(binary)
    while not stopping.wait(SYNC_SECONDS):
        if prometheus.poll() is not None:
            log.warning("Prometheus exited with %s; starting it again", prometheus.returncode)
            prometheus = _start_prometheus(binary)
        try:
            if write(desired(client)):
                log.info("configuration changed; reloading Prometheus")
                prometheus.send_signal(signal.SIGHUP)
        except (ApiError, httpx.HTTPError) as exc:  # the API server restarts: retry
            log.warning("sync failed (%s); retrying", exc)
    prometheus.terminate()
    try:
        prometheus.wait(timeout=10)
    except subprocess.TimeoutExpired:
        prometheus.kill()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    for noisy in ("httpx", "httpx2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    config = KubeConfig.from_file(paths.kubeconfig_path())
    client = Client(config.get(context_name=cluster.CONTEXT), field_manager=FIELD_MANAGER)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    os.makedirs(home(), exist_ok=True)
    run(client, stopping)


if __name__ == "__main__":
    main()
