"""The local cluster: a real control plane from kwokctl's binary runtime, with simulated nodes.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler are the real programs, so
manifests are validated, defaulted, scheduled and served by real Kubernetes code. Only the
kubelet is simulated: kwok keeps the nodes Ready and plays their pods. The CPU node of
``nodes.yaml`` always exists; GPU nodes are launched and removed by Karpenter
(``autoscaler.py``), as the blog's node group of 0-2 nodes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tutorial_lib.errors import LocalClusterError, ToolError
from tutorial_lib.local import (
    autoscaler,
    binaries,
    daemons,
    gpus,
    monitoring,
    object_store,
    ownership,
    paths,
    ports,
    prometheus_ui,
    runtime,
    versions,
)
from tutorial_lib.tools import binaries as tool_binaries
from tutorial_lib.tools.progress import run_logged

CONTEXT = f"kwok-{versions.CLUSTER_NAME}"
NODE_NAMES = ("cpu-node-1",)
#: The static GPU node the local cluster had before Karpenter ran its GPU nodes (issue 17).
_FORMER_GPU_NODE = "gpu-node-1"
_READY_TIMEOUT = 120.0
DAEMONS = (daemons.BRIDGE, daemons.MONITORING, daemons.KARPENTER, daemons.OBJECT_STORE)
_NOT_READY_TAINTS = {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}


@dataclass
class Component:
    """One process of the local cluster, as ``status`` reports it."""

    name: str
    pid: int | None
    running: bool

    def __str__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"{self.name:<26} {state:<8} pid {self.pid or '-'}"


@dataclass
class ClusterStatus:
    """What ``python -m tutorial_lib.local status`` prints."""

    exists: bool
    api_ready: bool = False
    components: list[Component] = field(default_factory=list)
    nodes: dict[str, bool] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return (
            self.exists
            and self.api_ready
            and all(c.running for c in self.components)
            and all(self.nodes.get(name) for name in NODE_NAMES)
        )

    def __str__(self) -> str:
        if not self.exists:
            return f"Cluster {versions.CLUSTER_NAME}: not created (python -m tutorial_lib.local up)"
        lines = [
            f"Cluster {versions.CLUSTER_NAME} (context {CONTEXT}): "
            + ("healthy" if self.healthy else "NOT healthy"),
            f"  kubeconfig {paths.kubeconfig_path()}",
            f"  {'kube-apiserver /readyz':<26} {'ok' if self.api_ready else 'failing'}",
        ]
        lines += [f"  {c}" for c in self.components]
        lines += [
            f"  {'node ' + n:<26} {'Ready' if self.nodes.get(n) else 'not Ready'}"
            for n in NODE_NAMES
        ]
        return "\n".join(lines)


# --- plumbing ------------------------------------------------------------------------------


def _cluster_dir() -> Path:
    return paths.kwok_workdir() / "clusters" / versions.CLUSTER_NAME


def pki_dir() -> Path:
    """The CA and admin certificate kwokctl made: the API server's, etcd's, the kubeconfig's."""
    return _cluster_dir() / "pki"


def kwokctl_env() -> dict[str, str]:
    """Kwokctl keeps its clusters under our state dir, and finds our kubectl first.

    The owner marker passes to the control plane kwokctl starts, as to our daemons: ``down``
    stops the processes that carry it (``leftover_pids``).
    """
    env = dict(os.environ)
    env[daemons.OWNER_ENV] = str(paths.state_dir())
    env["KWOK_WORKDIR"] = str(paths.kwok_workdir())
    env["PATH"] = f"{tool_binaries.kubectl().parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _kwokctl(
    *args: str, check: bool = True, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    kwokctl = binaries.ensure("kwokctl")["kwokctl"]
    command = [str(kwokctl), "--name", versions.CLUSTER_NAME, *args]
    try:
        proc = subprocess.run(
            command, env=kwokctl_env(), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        proc = subprocess.CompletedProcess(command, 124, "", f"timed out after {timeout:.0f} s")
    if check and proc.returncode != 0:
        raise LocalClusterError(
            f"kwokctl {' '.join(args)} failed: {proc.stderr.strip()[-2000:]}",
            "Run `python -m tutorial_lib.local down` and then `up` again.",
        )
    return proc


def kubectl(
    *args: str, input: str | None = None, check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run kubectl against the local cluster (never the reader's own current context)."""
    command = [str(tool_binaries.kubectl()), "--kubeconfig", str(paths.kubeconfig_path())]
    try:
        proc = subprocess.run(
            [*command, "--context", CONTEXT, *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        proc = subprocess.CompletedProcess(command, 124, "", f"timed out after {timeout:.0f} s")
    if check and proc.returncode != 0:
        raise LocalClusterError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc


def kwokctl_config(bins: dict[str, Path]) -> dict[str, object]:
    """The KwokctlConfiguration: local binaries only, so kwokctl never downloads anything."""
    return {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokctlConfiguration",
        "options": {
            "runtime": "binary",
            "kubeVersion": versions.KUBERNETES,
            "etcdVersion": versions.ETCD.lstrip("v"),
            "kwokVersion": versions.KWOK,
            # Every port kwokctl would otherwise pick (ports.py says why not).
            "kubeApiserverPort": ports.kube_apiserver(),
            "kwokControllerPort": ports.kwok_controller(),
            "kubeControllerManagerPort": ports.kube_controller_manager(),
            "kubeSchedulerPort": ports.kube_scheduler(),
            "etcdPort": ports.etcd_client(),
            "etcdPeerPort": ports.etcd_peer(),
            "etcdBinary": str(bins["etcd"]),
            "kubeApiserverBinary": str(bins["kube-apiserver"]),
            "kubeControllerManagerBinary": str(bins["kube-controller-manager"]),
            "kubeSchedulerBinary": str(bins["kube-scheduler"]),
            "kwokControllerBinary": str(bins["kwok"]),
            "kubectlBinary": str(tool_binaries.kubectl()),
            "bindAddress": "127.0.0.1",
            # kwok manages a node's pods only while it holds the node's Lease. After a crash the
            # restarted controller must wait for the dead one's lease to expire: keep it short
            # (the default, 40 s x heartbeat factor 5, left pods unmanaged for minutes).
            "nodeLeaseDurationSeconds": 10,
            "heartbeatFactor": 1,
            # The runtime bridge creates these per pod: kubectl logs and port-forward.
            "enableCRDs": ["Logs", "PortForward"],
        },
        "componentsPatches": _certificates_between_components(pki_dir()),
    }


def _certificates_between_components(pki: Path) -> list[dict[str, object]]:
    """Etcd and kwok's kubelet API answer only clients with a certificate of the cluster's CA.

    kwokctl starts etcd on plain HTTP with no authentication: on loopback, yet any account
    on the machine could read and write every object past RBAC (the audit's C2). The API
    server connects with kwokctl's admin certificate (server and client use, SAN
    127.0.0.1); the keys live in the state folder, which is its owner's only. The same
    certificate is its client certificate for the kubelet API (logs, port-forward), which
    the tutorial's kwok demands (``patches.KWOK``). Also: without a default route (a laptop
    off the network, a workshop with the bundle) the API server finds no address to
    advertise and exits, so it advertises loopback.
    """
    client, peer = (
        f"https://127.0.0.1:{ports.etcd_client()}",
        f"https://127.0.0.1:{ports.etcd_peer()}",
    )
    cert, key, ca = (str(pki / name) for name in ("admin.crt", "admin.key", "ca.crt"))
    urls = {
        "listen-client-urls": client,
        "advertise-client-urls": client,
        "listen-peer-urls": peer,
        "initial-advertise-peer-urls": peer,
        "initial-cluster": f"node0={peer}",
    }
    certificates = {"cert-file": cert, "key-file": key, "trusted-ca-file": ca}
    peer_certificates = {f"peer-{flag}": path for flag, path in certificates.items()}
    authentication = {"client-cert-auth": "true", "peer-client-cert-auth": "true"}
    etcd = [_arg(k, v, override=True) for k, v in urls.items()] + [
        _arg(k, v) for k, v in (certificates | peer_certificates | authentication).items()
    ]
    apiserver = [
        _arg("etcd-servers", client, override=True),
        _arg("etcd-cafile", ca),
        _arg("etcd-certfile", cert),
        _arg("etcd-keyfile", key),
        _arg("kubelet-client-certificate", cert),
        _arg("kubelet-client-key", key),
        _arg("advertise-address", "127.0.0.1"),
    ]
    return [{"name": "etcd", "extraArgs": etcd}, {"name": "kube-apiserver", "extraArgs": apiserver}]


def _arg(key: str, value: str, *, override: bool = False) -> dict[str, object]:
    """A kwokctl extraArg: added, or replacing the one kwokctl writes (``override``)."""
    return {"key": key, "value": value, **({"override": True} if override else {})}


def create_args(config: Path, kubeconfig: Path | None = None) -> list[str]:
    """The ``kwokctl create cluster`` arguments, shared by ``up`` and its dry-run test."""
    kubeconfig = kubeconfig or paths.kubeconfig_path()
    return [
        "create",
        "cluster",
        "--runtime",
        "binary",
        "--config",
        str(config),
        "--kubeconfig",
        str(kubeconfig),
        "--wait",
        "90s",
    ]


def write_config() -> Path:
    """Write the configuration for kwokctl: binaries, options, and our kwok stages."""
    bins = binaries.ensure()
    config = paths.state_dir() / "kwokctl.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    stages = list(yaml.safe_load_all(paths.package_text("stages.yaml")))
    config.write_text(yaml.safe_dump_all([kwokctl_config(bins), *stages], sort_keys=False))
    return config


# --- status --------------------------------------------------------------------------------


def components() -> list[Component]:
    """The control-plane processes from kwokctl's pid files."""
    pid_dir = _cluster_dir() / "pids"
    result = []
    for pid_file in sorted(pid_dir.glob("*.pid")) if pid_dir.exists() else []:
        try:
            pid: int | None = int(pid_file.read_text().strip())
        except ValueError:
            pid = None
        result.append(Component(pid_file.stem, pid, pid is not None and daemons.pid_alive(pid)))
    if _cluster_dir().exists():
        for daemon in DAEMONS:
            pid = daemon.pid()
            result.append(Component(daemon.name, pid, pid is not None))
        result.append(Component("prometheus /-/ready", None, monitoring.ready()))
        result.append(Component("object store /health", None, object_store.ready()))
    return result


def _api_ready() -> bool:
    if not paths.kubeconfig_path().exists():
        return False
    return kubectl("get", "--raw", "/readyz", check=False, timeout=10).returncode == 0


def _node_readiness() -> dict[str, bool]:
    """Ready means usable: condition Ready, no lifecycle taints, and kwok holds a fresh lease.

    Without a live lease holder nothing plays the node's pods: after a restart the new kwok
    controller takes over only once the old controller's lease has expired.
    """
    nodes = kubectl("get", "nodes", "-o", "json", check=False, timeout=15)
    leases = kubectl(
        "get", "leases", "-n", "kube-node-lease", "-o", "json", check=False, timeout=15
    )
    if nodes.returncode != 0 or leases.returncode != 0:
        return {}
    fresh = {
        lease["metadata"]["name"]
        for lease in json.loads(leases.stdout)["items"]
        if _lease_fresh(lease)
    }
    ready = {}
    for node in json.loads(nodes.stdout)["items"]:
        name = node["metadata"]["name"]
        conditions = node.get("status", {}).get("conditions", [])
        taints = {t["key"] for t in node.get("spec", {}).get("taints", [])}
        ready[name] = (
            name in fresh
            and not taints & _NOT_READY_TAINTS
            and any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        )
    return ready


def _lease_fresh(lease: dict[str, Any]) -> bool:
    spec = lease.get("spec", {})
    renewed = spec.get("renewTime")
    if not renewed:
        return False
    age = dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(renewed.replace("Z", "+00:00"))
    return age.total_seconds() <= spec.get("leaseDurationSeconds", 40)


def status() -> ClusterStatus:
    if not _cluster_dir().exists():
        return ClusterStatus(exists=False)
    api = _api_ready()
    return ClusterStatus(
        exists=True, api_ready=api, components=components(), nodes=_node_readiness() if api else {}
    )


# --- lifecycle -----------------------------------------------------------------------------


def _say(message: str) -> None:
    print(message, flush=True)


def _apply(text: str, what: str) -> None:
    proc = kubectl(
        "apply", "--server-side", "--force-conflicts", "-f", "-", input=text, check=False
    )
    if proc.returncode != 0:
        raise LocalClusterError(f"Could not apply {what}: {proc.stderr.strip()}")


def _apply_package_manifests() -> None:
    """The CPU node, the CRDs a real cluster gets from its operators, the GPU NodePool."""
    for name in (
        "nodes.yaml",
        "object-store.yaml",
        "crds/servicemonitors.monitoring.coreos.com.yaml",
        "crds/prometheusrules.monitoring.coreos.com.yaml",
    ):
        _apply(paths.package_text(name), name)
    crds = autoscaler.crds()
    _apply("\n---\n".join(crds), "Karpenter's CRDs")
    crd_names = [f"crd/{yaml.safe_load(crd)['metadata']['name']}" for crd in crds]
    established = kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", *crd_names, check=False
    )
    if established.returncode != 0:
        raise LocalClusterError(f"Karpenter's CRDs were not served: {established.stderr.strip()}")
    _apply(yaml.safe_dump_all(autoscaler.nodepool()), "the GPU NodePool")
    kubectl("delete", "node", _FORMER_GPU_NODE, "--ignore-not-found", check=False)


def _wait_nodes_ready(timeout: float = _READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(_node_readiness().get(name) for name in NODE_NAMES):
            return
        time.sleep(0.5)
    raise LocalClusterError(
        f"The simulated nodes did not become Ready within {timeout:.0f} s.",
        f"Look at the kwok-controller log: {_cluster_dir() / 'logs' / 'kwok-controller.log'}",
    )


def _create() -> None:
    config = write_config()
    log = paths.state_dir() / "kwokctl-create.log"
    logs = _cluster_dir() / "logs"
    try:
        run_logged(
            [
                str(binaries.ensure("kwokctl")["kwokctl"]),
                "--name",
                versions.CLUSTER_NAME,
                *create_args(config),
            ],
            env=kwokctl_env(),
            log=log,
            desc="Starting etcd, kube-apiserver, controller-manager, scheduler and kwok",
            hint=f"The component logs are in {logs}.",
            # kwokctl waits 90 s for the API, then retries loading its CRDs for as long as
            # it takes: a component that died at start would hold `up` forever.
            timeout=180,
        )
    except ToolError as exc:
        fatal = _fatal_lines(logs)
        if not fatal:
            raise
        raise LocalClusterError(
            "The cluster did not start: " + "; ".join(fatal), f"The component logs are in {logs}."
        ) from exc


def _fatal_lines(logs: Path) -> list[str]:
    """``<component>: <error>`` for each Kubernetes component that exited at start."""
    found = []
    for log in sorted(logs.glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if '"command failed"' in line:
                found.append(f"{log.stem}: {line.split('err=', 1)[-1].strip()}")
                break
    return found


def _restart() -> bool:
    """Restart every component of an existing cluster; True when that made the API serve.

    ``kwokctl start`` alone skips components it believes are running, so a half-dead
    cluster is stopped completely first. The node leases still name the dead kwok
    controller, and kwok plays a node's pods only while it holds its lease: deleting them
    lets the new controller take the nodes over at its next renewal instead of after expiry.
    """
    _kwokctl("stop", "cluster", check=False, timeout=60)
    if _kwokctl("start", "cluster", check=False, timeout=90).returncode != 0:
        return False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _api_ready():
            kubectl("delete", "leases", "-n", "kube-node-lease", "--all", check=False)
            return True
        time.sleep(0.5)
    return False


def up(current: ClusterStatus | None = None, *, switch_build: bool = False) -> ClusterStatus:
    """Create the local cluster, or reuse, repair or recreate it; idempotent.

    ``current``: a status the caller has just read, so it is not asked for twice.
    ``switch_build``: a running cluster whose bridge serves another vLLM build than this
    environment's (``VLLM_TUTORIAL_GPU``) is switched; only the ``up`` command asks for it.

    kubectl equivalent: ``kwokctl create cluster --runtime binary ...`` then
    ``kubectl apply -f nodes.yaml``.
    """
    with ownership.exclusive("up") as waited:
        # After a wait, what the other did counts.
        return _up(None if waited else current, switch_build)


def _up(current: ClusterStatus | None, switch_build: bool) -> ClusterStatus:
    binaries.ensure()
    ownership.claim()
    current = current or status()
    if current.healthy:
        _say(f"Local cluster {versions.CLUSTER_NAME} is already running.")
        if switch_build:
            _switch_build()
        _restart_stale_daemons()
        return current
    if current.exists and not current.api_ready:
        _say(
            "The local cluster exists but is not running (stale after a crash or a killed "
            "terminal?); restarting its components."
        )
        if not _restart():
            _say("Restart failed; recreating the cluster from scratch.")
            _down(quiet=True)
            ownership.claim()
    elif current.exists:
        _say("The local cluster is up but incomplete; repairing it.")
    if not _cluster_dir().exists():
        _say(
            f"Creating local cluster {versions.CLUSTER_NAME} "
            f"(Kubernetes {versions.KUBERNETES}, kwok {versions.KWOK})."
        )
        _create()
    _apply_package_manifests()
    _wait_nodes_ready()
    runtime.ensure_runtime()
    prometheus_ui.ensure(binaries.ensure("prometheus", "promtool")["prometheus"])
    _restart_stale_daemons()  # a daemon that survived the repair may run older code
    for daemon in DAEMONS:
        _start(daemon)
    deadline = time.monotonic() + 20  # Prometheus opens its TSDB first
    while not (monitoring.ready() and object_store.ready()) and time.monotonic() < deadline:
        time.sleep(0.3)
    final = status()
    if not final.healthy:
        raise LocalClusterError(
            f"The local cluster is not healthy after up:\n{final}",
            "Run `python -m tutorial_lib.local down` and `up` again; the daemons log to "
            f"{paths.state_dir()}/runtime-bridge.log, monitoring.log and karpenter.log.",
        )
    _say(f"Ready. kubeconfig: {paths.kubeconfig_path()}\ncontext:    {CONTEXT}")
    return final


def leftover_pids(*, containers_only: bool = False) -> list[int]:
    """The processes this cluster started: those that carry its owner marker, and their groups.

    ``up`` hands the marker to everything it starts (kwokctl's control plane, the daemons,
    the bridge's containers), and their children inherit it; a process of the reader's
    that merely names a file of the state folder (an editor, ``tail -f`` of a log) has none,
    and another account's environment cannot be read at all. A container leads a process
    group of its own, and its members count too: vLLM's engine renames itself
    (``setproctitle``), which leaves its environment unreadable. ``containers_only``: only
    the processes of pods (their leaders also carry the container marker).
    """
    owner = f"{daemons.OWNER_ENV}={paths.state_dir()}".encode()
    container = f"{daemons.CONTAINER_ENV}=".encode()
    own = os.getpid()
    marked: list[int] = []
    groups: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == own:
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            groups[int(proc.name)] = _process_group(proc)
        except OSError:  # gone, or another account's
            continue
        ours = owner in environ
        if containers_only:
            ours = ours and any(v.startswith(container) for v in environ)
        if ours:
            marked.append(int(proc.name))
    leaders = {pid for pid in marked if groups[pid] == pid}
    members = [pid for pid, group in groups.items() if group in leaders and pid not in marked]
    return [pid for pid in marked + members if daemons.pid_alive(pid)]


def _process_group(proc: Path) -> int:
    """The process group of ``/proc/<pid>``: the third field after the command's name."""
    return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[2])


def _start(daemon: daemons.Daemon) -> None:
    """Start ``daemon``; the bridge's build is recorded first, for ``connect`` to read at once."""
    if daemon is daemons.BRIDGE and daemon.pid() is None:
        runtime.record_serving(runtime.Build.here())
    daemon.start()


def _switch_build() -> None:
    """The ``up`` command with another ``VLLM_TUTORIAL_GPU`` than the running bridge's: switch.

    Only the command does: every notebook's ``connect`` runs ``up`` too, and its kernel's
    environment must not move every room's vLLM onto another build.
    """
    wanted, serving = runtime.Build.here(), runtime.serving()
    if wanted is serving:
        return
    _say(
        f"The bridge serves vLLM's {serving.value} build, this environment asks for the "
        f"{wanted.value} build ({gpus.SWITCH}): switching; its pods start again."
    )
    runtime.ensure_runtime(build=wanted)
    for daemon in (daemons.BRIDGE, daemons.KARPENTER):  # the build, and the NodePool's GPUs
        daemon.stop(terminate)
        _start(daemon)


def _restart_stale_daemons() -> None:
    """Restart a daemon whose code changed since it started (a ``git pull``, an edit).

    The bridge's vLLM containers end with it; the new bridge starts them again, as a
    kubelet does after a restart.
    """
    for daemon in DAEMONS:
        if daemon.stale():
            _say(f"The {daemon.name} runs code from before a change: restarting it.")
            daemon.stop(terminate)
            _start(daemon)


def terminate(pids: list[int], grace: float = 10.0) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(daemons.pid_alive(p) for p in pids):
        time.sleep(0.2)
    for pid in pids:
        if daemons.pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def down(quiet: bool = False) -> None:
    """Stop every process ``up`` started and remove the cluster's state; the cache stays.

    It returns only when they have ended: a Go server still finishing its graceful stop
    holds its port, and an ``up`` right after would find it taken.
    """
    with ownership.exclusive("down"):
        _down(quiet)


def _down(quiet: bool) -> None:
    # Taken first: a dying process no longer shows its command line, so whose it is.
    started = set(leftover_pids())
    for daemon in DAEMONS:
        daemon.stop(terminate)
    if _cluster_dir().exists():
        proc = _kwokctl("delete", "cluster", check=False)
        if proc.returncode != 0 and not quiet:
            _say(f"kwokctl delete cluster reported: {proc.stderr.strip()[-500:]}")
    stray = leftover_pids()
    if stray and not quiet:
        _say(f"Stopping {len(stray)} leftover process(es): {stray}")
    terminate(sorted(started | set(stray)))
    remaining = leftover_pids()
    if remaining:
        raise LocalClusterError(
            f"Processes of the local cluster survived down: {remaining}",
            f"Kill them by hand: kill -9 {' '.join(map(str, remaining))}",
        )
    ownership.release(paths.state_dir())
    if not quiet:
        _say(f"Local cluster {versions.CLUSTER_NAME} is down; nothing of it is running.")
