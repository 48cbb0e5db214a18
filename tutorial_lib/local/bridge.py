"""The runtime bridge: a kubelet for vLLM pods on the simulated nodes.

kwok simulates every pod but those whose container runs a ``vllm/vllm-openai`` image
(``stages.yaml`` leaves them alone). For those, this process does what a kubelet does:

* starts the container as a local process of the runtime venv, if ``admission`` lets it: only
  ``vllm serve`` with allow-listed options and env, every path moved into a per-pod folder,
  the container port moved to a free local port, and every such change written to the
  pod's log; a refused container is the kubelet's ``RunContainerError``, with the reason.
  Where the GPU node runs on this machine's GPUs (``runtime.Build.CUDA``), the container
  sees the GPUs its pod was given (``devices``), as the NVIDIA device plugin hands them out;
* holds the container's memory and CPU limits (``limits``): above its memory limit it is
  killed and reported ``OOMKilled``;
* serves its output through a kwok ``Logs`` object (``kubectl logs [-f] [--previous]``) and
  its port through a ``PortForward`` object (``kubectl port-forward``), via the API server;
* runs the startup, readiness and liveness probes and reports them in the pod status, so the
  Service lists the pod only once vLLM answers ``/health``;
* restarts a crashed or unhealthy container with the kubelet's back-off (``restartCount``,
  ``CrashLoopBackOff``), and on deletion runs the preStop hook's sleep (``prestop``), sends
  SIGTERM to the container's main process, as a container runtime does (vLLM passes it on
  to its engine, which drains or aborts what runs), waits out the grace period, SIGKILLs what
  is left, and only then removes the pod;
* fills env values from the pod's Secrets and ConfigMaps (``env_from``).

Started by ``python -m tutorial_lib.local up``, which runs ``main()`` in a process of its own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes.client import V1Pod

from tutorial_lib import names
from tutorial_lib.errors import ClusterError, NotFound
from tutorial_lib.kube import events
from tutorial_lib.kube.connection import Connection, from_kubeconfig
from tutorial_lib.kube.watch import ListWatch
from tutorial_lib.local import (
    admission,
    cluster,
    daemons,
    devices,
    env_from,
    gpus,
    init_script,
    limits,
    object_store,
    paths,
    prestop,
    runtime,
    versions,
)

log = logging.getLogger(__name__)

VLLM_IMAGE_PREFIX = "vllm/vllm-openai"
#: vLLM's CUDA build samples with FlashInfer, which its image ships; a runtime installed from
#: a partial wheelhouse may lack it (tutorial_lib/local/runtime.py).
FLASHINFER = "flashinfer-python"
FIELD_MANAGER = f"{names.FIELD_MANAGER}-bridge"
BACKOFF_START, BACKOFF_MAX = 10.0, 300.0
#: What runs an init container's script (``init_script``): a module, not a shell.
INIT_RUN = "tutorial_lib.local.init_run"
#: Seconds between two reads of a container's memory.
MEMORY_CHECK = 2.0
#: A file to which the bridge appends a line for every container process it starts: ``make
#: test`` counts vLLM's starts, the suite's most expensive step, from it.
STARTS_LOG = "VLLM_TUTORIAL_STARTS_LOG"
#: kwok's custom resources behind ``kubectl logs`` and ``kubectl port-forward`` of its pods.
#: The probes a container may have: the name in the manifest, the client model's attribute.
PROBES = {
    "startupProbe": "startup_probe",
    "readinessProbe": "readiness_probe",
    "livenessProbe": "liveness_probe",
}


def runs_vllm(pod: V1Pod) -> bool:
    """The same rule as the kwok stages: the bridge owns pods whose container runs vLLM."""
    return any(_is_vllm(c) for c in pod.spec.containers)


def _is_vllm(container: Any) -> bool:
    return (container.image or "").startswith(VLLM_IMAGE_PREFIX)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _served_model_name(command: list[str]) -> list[str]:
    """Name the model as on EKS: offline, vLLM would label its metrics with the cache path."""
    if command[1:2] != ["serve"] or len(command) < 3 or command[2].startswith("-"):
        return []
    if any(arg.startswith("--served-model-name") for arg in command):
        return []
    return [f"--served-model-name={command[2]}"]


def rfc3339(moment: dt.datetime) -> str:
    """A timestamp as the API writes it: UTC, whole seconds, ``Z``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> str:
    return rfc3339(dt.datetime.now(dt.UTC))


@dataclass
class Probe:
    """A container probe; only httpGet, which is what the manifests use."""

    path: str
    port: int
    period: float
    timeout: float
    failure_threshold: int
    initial_delay: float

    @classmethod
    def from_spec(cls, spec: Any, ports: dict[str, int]) -> Probe | None:
        if spec is None or spec.http_get is None:
            return None
        port = spec.http_get.port
        return cls(
            path=spec.http_get.path or "/",
            port=ports.get(str(port), int(port) if str(port).isdigit() else 0),
            period=spec.period_seconds or 10,
            timeout=spec.timeout_seconds or 1,
            failure_threshold=spec.failure_threshold or 3,
            initial_delay=spec.initial_delay_seconds or 0,
        )

    def check(self, local_port: int) -> bool:
        url = f"http://127.0.0.1:{local_port}{self.path}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                return 200 <= response.status < 400
        except (urllib.error.URLError, OSError, ValueError):
            return False


@dataclass
class Container:
    """One run of a container: its process, log file and status."""

    name: str
    image: str
    restart_count: int = 0
    process: subprocess.Popen[bytes] | None = None
    started_at: str = ""
    ready: bool = False
    started: bool = False
    waiting_reason: str | None = None
    waiting_message: str | None = None
    last_terminated: dict[str, Any] | None = None
    log_file: Path | None = None
    previous_log_file: Path | None = None
    oom_killed: bool = False
    #: An init container that has ended, until it runs again: ``state.terminated``.
    terminated: dict[str, Any] | None = None

    def status(self) -> dict[str, Any]:
        if self.terminated and self.process is None and not self.waiting_reason:
            state: dict[str, Any] = {"terminated": self.terminated}
        elif self.waiting_reason or self.process is None:
            waiting = {"reason": self.waiting_reason or "ContainerCreating"}
            if self.waiting_message:
                waiting["message"] = self.waiting_message
            state = {"waiting": waiting}
        else:
            state = {"running": {"startedAt": self.started_at}}
        status = {
            "name": self.name,
            "image": self.image,
            "imageID": "",
            "ready": self.ready,
            "started": self.started,
            "restartCount": self.restart_count,
            "state": state,
        }
        if self.last_terminated:
            status["lastState"] = {"terminated": self.last_terminated}
        return status


@dataclass
class PodRunner:
    """Plays one pod: start, probe, restart, stop. All of its work happens in its thread."""

    connection: Connection
    pod: V1Pod
    env: runtime.Runtime
    #: The machine's GPUs where the runtime is the CUDA build; None where the node is simulated.
    gpus: devices.Devices | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    #: When the grace period ends (``time.monotonic()``); a later, shorter deletion moves it.
    deadline: float = float("inf")
    run_pre_stop: bool = True

    def __post_init__(self) -> None:
        meta = self.pod.metadata
        self.name, self.namespace, self.uid = meta.name, meta.namespace, meta.uid
        self.dir = paths.state_dir() / "pods" / f"{self.namespace}_{self.name}_{self.uid}"
        spec = next(c for c in self.pod.spec.containers if _is_vllm(c))
        self.spec = spec
        self.container = Container(spec.name, spec.image)
        #: The init containers, run in order to completion before vLLM (``init_script``).
        self.init_specs = list(self.pod.spec.init_containers or [])
        self.init_containers = [Container(c.name, c.image) for c in self.init_specs]
        self.initialized = not self.init_specs
        if not self.initialized:
            self.container.waiting_reason = "PodInitializing"
        self.container_ports = {str(p.container_port): p.container_port for p in spec.ports or []}
        self.container_ports |= {p.name: p.container_port for p in spec.ports or [] if p.name}
        # When the pod was first started, kept across container restarts (the kubelet's way).
        started = self.pod.status.start_time if self.pod.status else None
        self.start_time = rfc3339(started) if started else now()
        self.local_ports = {port: free_port() for port in set(self.container_ports.values())}
        self.thread = threading.Thread(target=self._run, name=f"pod-{self.name}", daemon=True)

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self.thread.start()

    def stop(self, grace: float, *, pre_stop: bool = True) -> None:
        """Stop within ``grace`` seconds; without the preStop hook when the node itself goes."""
        self.deadline = min(self.deadline, time.monotonic() + grace)
        self.run_pre_stop = self.run_pre_stop and pre_stop
        self.stop_event.set()

    def _run(self) -> None:
        try:
            self._publish_forwards()
            backoff = BACKOFF_START
            while not self.stop_event.is_set():
                if not self.initialized:
                    if self._initialize():
                        backoff = BACKOFF_START
                        continue
                    if self.stop_event.is_set():
                        break
                else:
                    exit_code = self._run_once()
                    if self.stop_event.is_set():
                        break
                    if exit_code is not None:
                        self._record_exit(exit_code)
                self._patch_status()
                if self.stop_event.wait(backoff):
                    break
                backoff = min(backoff * 2, BACKOFF_MAX)
        except Exception:
            log.exception("pod %s/%s: runner failed", self.namespace, self.name)
        finally:
            self._terminate()
            if self.gpus is not None:
                self.gpus.give_back(self.uid)
            self._remove_pod()

    def _run_once(self) -> int | None:
        """Start the container and watch it until it exits, fails liveness or is stopped.

        None when it could not even start (the kubelet's RunContainerError).
        """
        try:
            env = env_from.resolve(self.connection, self.namespace, self.spec)
        except env_from.ConfigError as missing:
            self._cannot_run(str(missing), reason=env_from.REASON)
            return None
        try:
            launch = admission.admit(self.spec, self._files(), env)
            visible = self._visible_gpus()
        except (admission.Refused, devices.NoneFree) as refused:
            self._cannot_run(f"refused by the local cluster: {refused}.")
            return None
        try:
            self._spawn(launch, visible)
        except OSError as exc:
            self._cannot_run(could_not_start(exc))
            return None
        self._patch_status()
        probes = {
            kind: Probe.from_spec(getattr(self.spec, attribute), self.container_ports)
            for kind, attribute in PROBES.items()
        }
        failures = {kind: 0 for kind in probes}
        started = probes["startupProbe"] is None
        self.container.started = started
        if probes["readinessProbe"] is None:  # the kubelet: ready once started
            self.container.ready = started
        next_check = {
            kind: time.monotonic() + (p.initial_delay if p else 0) for kind, p in probes.items()
        }
        assert self.container.process is not None
        memory_limit, next_memory_check = limits.memory_limit(self.spec), 0.0
        while self.container.process.poll() is None:
            if self.stop_event.wait(0.5):
                return -1
            if memory_limit is not None and time.monotonic() >= next_memory_check:
                next_memory_check = time.monotonic() + MEMORY_CHECK
                self._hold_memory_limit(memory_limit)
            for kind, probe in probes.items():
                if probe is None or time.monotonic() < next_check[kind]:
                    continue
                if kind != "startupProbe" and not started:
                    continue
                if kind == "startupProbe" and started:
                    continue
                next_check[kind] = time.monotonic() + probe.period
                ok = probe.check(self.local_ports.get(probe.port, probe.port))
                failures[kind] = 0 if ok else failures[kind] + 1
                if kind == "startupProbe" and ok:
                    started = self.container.started = True
                    self.container.ready = probes["readinessProbe"] is None
                    self._patch_status()
                elif kind == "readinessProbe" and ok != self.container.ready:
                    if ok or failures[kind] >= probe.failure_threshold:
                        self.container.ready = ok
                        self._patch_status()
                elif kind != "readinessProbe" and failures[kind] >= probe.failure_threshold:
                    self._log_line(
                        f"[bridge] {kind} failed {failures[kind]} times: "
                        "killing the container, as the kubelet would."
                    )
                    self._signal_group(signal.SIGKILL)
        exit_code = self.container.process.wait()
        self._signal_group(signal.SIGKILL)  # vLLM's worker processes outlive a crashed leader
        return exit_code

    # --- init containers ------------------------------------------------------------------

    def _initialize(self) -> bool:
        """Each init container that has not completed, in order; True once all have."""
        try:
            self._mount_secrets()
        except env_from.ConfigError as missing:
            self._cannot_run(str(missing), env_from.REASON, self.init_containers[0])
            return False
        for spec, container in zip(self.init_specs, self.init_containers, strict=True):
            if container.terminated and container.terminated["exitCode"] == 0:
                continue
            if not self._run_init(spec, container):
                return False
        self.initialized = True
        self.container.waiting_reason = None
        return True

    def _mount_secrets(self) -> None:
        """Each ``secret`` volume's keys as files in its folder, readable by this account only."""
        for volume in self.pod.spec.volumes or []:
            if volume.secret is None:
                continue
            folder = self.dir / "volumes" / volume.name
            folder.mkdir(parents=True, exist_ok=True)
            for key, value in env_from.secret_files(
                self.connection, self.namespace, volume
            ).items():
                file = folder / key
                file.touch(mode=0o600)
                file.write_bytes(value)

    def _run_init(self, spec: Any, container: Container) -> bool:
        """Run one init container to its end, as its ``init_script`` plan; True if it completed."""
        try:
            env = env_from.resolve(self.connection, self.namespace, spec)
            plan = init_script.admit(spec, self._files(spec), env, object_store.endpoints())
        except env_from.ConfigError as missing:
            self._cannot_run(str(missing), env_from.REASON, container)
            return False
        except admission.Refused as refused:
            self._cannot_run(f"refused by the local cluster: {refused}.", container=container)
            return False
        plan_file = self.dir / "init" / f"{container.name}.json"
        plan_file.parent.mkdir(parents=True, exist_ok=True)
        plan_file.write_text(json.dumps(plan.to_json()))
        self._new_log(container)
        command = [sys.executable, "-m", INIT_RUN, str(plan_file)]
        self._log_line(f"[bridge] the init script, run by {INIT_RUN}", container.log_file)
        container.process = self._popen(command, plan.env | {"HOME": str(self.dir)})
        container.started_at, container.terminated = now(), None
        container.waiting_reason = container.waiting_message = None
        self._follow(container)
        self._patch_status()
        process = container.process
        while process.poll() is None:
            if self.stop_event.wait(0.5):
                return False
        code = process.wait()
        container.process = None
        container.terminated = {
            "exitCode": code,
            "reason": "Completed" if code == 0 else "Error",
            "startedAt": container.started_at,
            "finishedAt": now(),
        }
        if code:
            container.restart_count += 1
            self._log_line(f"[bridge] exited with code {code}", container.log_file)
        self._patch_status()
        return code == 0

    # --- the process ----------------------------------------------------------------------

    def _hold_memory_limit(self, limit: int) -> None:
        """Above its limit the container is killed, as the kernel does in a kubelet's cgroup."""
        process = self.container.process
        used = limits.group_memory(process.pid) if process else 0
        if used > limit:
            self._log_line(
                f"[bridge] memory {used / 2**20:.0f} MiB is above the limit of "
                f"{limit / 2**20:.0f} MiB: killed (OOMKilled), as the kernel would."
            )
            self.container.oom_killed = True
            self._signal_group(signal.SIGKILL)

    def _visible_gpus(self) -> list[int] | None:
        """The real GPUs this pod holds; None where the GPU node is simulated (CPU build)."""
        if self.gpus is None:
            return None
        count = devices.requested(self.spec)
        if count == 0:
            raise admission.Refused(
                "this machine runs vLLM's CUDA build, and the container asks for no "
                f"{names.GPU_RESOURCE} in its limits"
            )
        return self.gpus.take(self.uid, count)

    def _files(self, spec: Any = None) -> admission.PodFiles:
        """The paths of ``spec`` (the vLLM container by default): its volumes, then its rootfs."""
        spec = spec or self.spec
        rootfs = self.dir / "rootfs" if spec is self.spec else self.dir / "init-rootfs" / spec.name
        return admission.PodFiles(rootfs=rootfs, mounts=self._volume_dirs(spec))

    def _command(self, launch: admission.Launch) -> list[str]:
        return self._rewrite_args(
            [str(self.env.vllm), *admission.IMAGE_ENTRYPOINT[1:], *launch.args]
        )

    def _rewrite_args(self, command: list[str]) -> list[str]:
        """Point vLLM at the local port standing for the container port, on loopback only."""
        rewritten: list[str] = []
        skip = False
        for i, arg in enumerate(command):
            if skip:
                skip = False
                continue
            if arg.startswith("--port="):
                port = int(arg.split("=", 1)[1])
                rewritten.append(f"--port={self.local_ports.get(port, port)}")
            elif arg == "--port" and i + 1 < len(command):
                port = int(command[i + 1])
                rewritten += ["--port", str(self.local_ports.get(port, port))]
                skip = True
            elif arg.startswith("--host"):
                skip = arg == "--host"
            else:
                rewritten.append(arg)
        if not any(a.startswith("--port") for a in rewritten) and 8000 in self.local_ports:
            rewritten.append(f"--port={self.local_ports[8000]}")
        rewritten.append("--host=127.0.0.1")
        return rewritten + _served_model_name(rewritten)

    def _volume_dirs(self, spec: Any) -> dict[str, Path]:
        """Each volumeMount of ``spec``: its mountPath -> the pod's folder of that volume."""
        mounts = {}
        for mount in spec.volume_mounts or []:
            folder = self.dir / "volumes" / mount.name
            folder.mkdir(parents=True, exist_ok=True)
            mounts[mount.mount_path] = folder
        return mounts

    def _environment(self, launch: admission.Launch, visible: list[int] | None) -> dict[str, str]:
        env = {key: os.environ[key] for key in ("LANG", "LC_ALL", "TZ") if key in os.environ}
        env |= {
            "PATH": f"{self.env.venv / 'bin'}:/usr/bin:/bin",
            "HOME": str(self.dir),
            daemons.OWNER_ENV: str(paths.state_dir()),
            daemons.CONTAINER_ENV: self.uid,
        }
        given = {var.name: var.value for var in self.spec.env or []}
        for name, value in launch.env.items():
            if name in admission.PATH_ENV:
                Path(value).mkdir(parents=True, exist_ok=True)
                self._log_line(f"[bridge] env {name}={given.get(name)} -> {value}")
            env[name] = value
        # The model comes from the local cache (there is no Hub here); no usage reports.
        env.setdefault("HF_HOME", str(self.dir / "huggingface"))
        # vLLM's own cache (what it learnt inspecting the model) is the node's, not the pod's:
        # a pod that finds it skips the subprocess vLLM otherwise starts to inspect the model.
        env.setdefault("VLLM_CACHE_ROOT", str(self.env.vllm_cache))
        env |= {"HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"}
        if visible is not None:  # what the device plugin hands the container
            # nvidia-smi's indices are in PCI bus order; CUDA's own default puts the fastest first.
            env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
            env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, visible))
            self._log_line(f"[bridge] this machine's GPU(s) {env['CUDA_VISIBLE_DEVICES']}")
            if FLASHINFER not in self.env.packages:  # vLLM assumes its image's FlashInfer
                env["VLLM_USE_FLASHINFER_SAMPLER"] = "0"
                self._log_line(f"[bridge] no {FLASHINFER} here: VLLM_USE_FLASHINFER_SAMPLER=0")
        self._link_model(Path(env["HF_HOME"]))
        return env

    def _link_model(self, hf_home: Path) -> None:
        """The pod's HF_HOME offers every cached model, as if the pod had downloaded it.

        The stand-ins, and the blog's model where ``blog_model`` downloaded it.
        """
        hub = hf_home / "hub"
        hub.mkdir(parents=True, exist_ok=True)
        for target in (self.env.hf_home / "hub").glob("models--*"):
            link = hub / target.name
            if link.is_symlink() and link.resolve() != target.resolve():
                link.unlink()  # a link into a cache that has moved
            if not link.is_symlink():
                link.symlink_to(target, target_is_directory=True)

    def _spawn(self, launch: admission.Launch, visible: list[int] | None) -> None:
        container = self.container
        self._new_log(container)
        env = self._environment(launch, visible)
        command = self._command(launch)
        self._log_line(f"[bridge] starting: {shlex.join(command)}")
        container.process = self._popen(command, env)
        cores = limits.cpu_set(self.spec)
        if cores is not None:
            os.sched_setaffinity(container.process.pid, cores)  # its children inherit it
        container.started_at, container.ready, container.oom_killed = now(), False, False
        container.waiting_reason = container.waiting_message = None
        self._record_start()
        self._follow(container)

    def _new_log(self, container: Container) -> None:
        """A log file for the container's next run; the last one stays ``--previous``."""
        container.previous_log_file = container.log_file
        container.log_file = self.dir / "logs" / f"{container.name}-{container.restart_count}.log"
        container.log_file.parent.mkdir(parents=True, exist_ok=True)
        container.log_file.touch()
        self._publish_logs()

    def _popen(self, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            command,
            env=env,
            cwd=self.dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=daemons.die_with_parent,
        )

    def _follow(self, container: Container) -> None:
        """Copy the container's output into its log file, line by line, as it comes."""
        assert container.process is not None and container.log_file is not None
        threading.Thread(
            target=self._copy_output,
            args=(container.process, container.log_file),
            name=f"log-{self.name}-{container.name}",
            daemon=True,
        ).start()

    def _record_start(self) -> None:
        ledger = os.environ.get(STARTS_LOG)
        if ledger:
            with open(ledger, "a") as out:
                restarts = self.container.restart_count
                out.write(f"{self.container.started_at} {self.namespace}/{self.name} {restarts}\n")

    def _copy_output(self, process: subprocess.Popen[bytes], log_file: Path) -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            self._log_line(raw.decode(errors="replace").rstrip("\n"), log_file)

    def _log_line(self, line: str, log_file: Path | None = None) -> None:
        """Append in the CRI log format that kwok serves to ``kubectl logs``."""
        log_file = log_file or self.container.log_file
        if log_file is None:
            return
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        with log_file.open("a") as out:
            out.write(f"{stamp} stdout F {line}\n")

    def _signal_group(self, sig: int) -> None:
        process = self.container.process
        if process is not None:  # even after the leader exited: its children may live on
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sig)

    def _cannot_run(
        self, message: str, reason: str = "RunContainerError", container: Container | None = None
    ) -> None:
        """Keep the pod and say why, as a kubelet does when it cannot run the container."""
        container = container or self.container
        self._event("Failed", message)
        container.process = None
        container.waiting_reason, container.waiting_message = reason, message
        self._log_line(f"[bridge] {message} Retrying with back-off.", container.log_file)

    def _record_exit(self, exit_code: int) -> None:
        container = self.container
        if exit_code < 0:  # killed by a signal: 128 + signal, as the kubelet reports it
            exit_code = 128 - exit_code
        reason = "OOMKilled" if container.oom_killed else "Completed" if exit_code == 0 else "Error"
        container.last_terminated = {
            "exitCode": exit_code,
            "reason": reason,
            "startedAt": container.started_at,
            "finishedAt": now(),
        }
        container.restart_count += 1
        container.ready = container.started = False
        container.waiting_reason = "CrashLoopBackOff"
        self._log_line(
            f"[bridge] container exited with code {exit_code}; restarting with "
            "back-off (CrashLoopBackOff)."
        )
        # `kubectl logs --previous` reads the last terminated container, as the kubelet's does
        # once lastState.terminated is set: during the back-off already, not from the restart.
        container.previous_log_file = container.log_file
        self._publish_logs()

    def _terminate(self) -> None:
        """The kubelet's order: the preStop hook, SIGTERM, the rest of the grace period, SIGKILL.

        SIGTERM goes to ``vllm serve`` alone, as a runtime sends it to a container's main
        process: vLLM tells its engine, which drains (``--shutdown-timeout``) or aborts. Sent
        to the whole group, it reached the engine directly, which then failed the requests
        it was draining (HTTP 500, docs/benchmarks.md). SIGKILL goes to everything left, as
        the runtime kills a container's cgroup.
        """
        for init in self.init_containers:  # a copy still running: nothing to drain
            if init.process is not None and init.process.poll() is None:
                os.killpg(init.process.pid, signal.SIGKILL)
                init.process.wait()
        process = self.container.process
        if process is None or process.poll() is not None:
            return
        if self.run_pre_stop:
            self._pre_stop(process)
        self._log_line("[bridge] SIGTERM to vllm serve")
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=max(self.deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            self._log_line("[bridge] the grace period is over: SIGKILL")
        self._signal_group(signal.SIGKILL)
        process.wait()

    def _pre_stop(self, process: subprocess.Popen[bytes]) -> None:
        hook = prestop.pre_stop(self.spec)
        if hook.failed:
            self._event(prestop.FAILED, hook.failed)
            self._log_line(f"[bridge] preStop hook failed: {hook.failed}")
        if not hook.seconds:
            return
        self._log_line(f"[bridge] preStop: sleep {hook.seconds:g} s")
        end = time.monotonic() + hook.seconds
        while time.monotonic() < min(end, self.deadline) and process.poll() is None:
            time.sleep(0.2)

    # --- the API server -------------------------------------------------------------------

    def _owner(self) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Pod", "name": self.name, "uid": self.uid}

    def _apply(self, kind: str, plural: str, spec: dict[str, Any]) -> None:
        """Server-side apply of the pod's kwok object (``Logs``, ``PortForward``), owned by it."""
        body = {
            "apiVersion": f"{versions.KWOK_GROUP}/{versions.KWOK_VERSION}",
            "kind": kind,
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "ownerReferences": [self._owner()],
            },
            "spec": spec,
        }
        self.connection.call(
            self.connection.custom.patch_namespaced_custom_object,
            versions.KWOK_GROUP,
            versions.KWOK_VERSION,
            self.namespace,
            plural,
            self.name,
            body,
            field_manager=FIELD_MANAGER,
            force=True,
            _content_type="application/apply-patch+yaml",
        )

    def _event(self, reason: str, message: str) -> None:
        """A Warning event on the pod, as the kubelet writes one (``kubectl describe``)."""
        involved = {**self._owner(), "namespace": self.namespace}
        source = {"component": "kubelet", "host": self.pod.spec.node_name}
        events.warn(self.connection, involved, reason, message, source)

    def _publish_logs(self) -> None:
        """A ``Logs`` entry per container that has run: ``kubectl logs -c NAME [--previous]``."""
        entries = []
        for container in [*self.init_containers, self.container]:
            if container.log_file is None:
                continue
            entry: dict[str, Any] = {
                "containers": [container.name],
                "logsFile": str(container.log_file),
                "follow": True,
            }
            if container.previous_log_file:
                entry["previousLogsFile"] = str(container.previous_log_file)
            entries.append(entry)
        self._apply("Logs", "logs", {"logs": entries})

    def _publish_forwards(self) -> None:
        forwards = [
            {"ports": [port], "target": {"port": local, "address": "127.0.0.1"}}
            for port, local in self.local_ports.items()
        ]
        self._apply("PortForward", "portforwards", {"forwards": forwards})

    def _pod_ip(self) -> str:
        digest = hashlib.sha256(self.uid.encode()).digest()
        return f"10.244.{digest[0]}.{digest[1] % 254 + 1}"

    def _patch_status(self) -> None:
        ready = "True" if self.container.ready else "False"
        initialized = "True" if self.initialized else "False"
        stamp = now()
        status = {
            "phase": "Running" if self.initialized else "Pending",
            "podIP": self._pod_ip(),
            "podIPs": [{"ip": self._pod_ip()}],
            "startTime": self.start_time,
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": stamp},
                {"type": "Initialized", "status": initialized, "lastTransitionTime": stamp},
                {"type": "ContainersReady", "status": ready, "lastTransitionTime": stamp},
                {"type": "Ready", "status": ready, "lastTransitionTime": stamp},
            ],
            "containerStatuses": [self.container.status()],
        }
        if self.init_containers:
            status["initContainerStatuses"] = [c.status() for c in self.init_containers]
        try:
            self.connection.call(
                self.connection.core.patch_namespaced_pod_status,
                self.name,
                self.namespace,
                {"status": status},
                field_manager=FIELD_MANAGER,
                _content_type="application/merge-patch+json",
            )
        except NotFound:  # the pod is gone: nothing left to run it for
            self.stop_event.set()
        except ClusterError as exc:  # the API server restarts; the next change writes again
            log.warning("pod %s/%s: status not written (%s)", self.namespace, self.name, exc)

    def _remove_pod(self) -> None:
        """After the process is gone: what the kubelet does last, a deletion with grace 0."""
        try:
            delete_pod(self.connection, self.name, self.namespace)
        except ClusterError as exc:  # already gone, or the API server is away: down cleans up
            log.info("pod %s/%s: not deleted (%s)", self.namespace, self.name, exc)


def could_not_start(exc: OSError) -> str:
    """Why an admitted container did not start, and the fix: the runtime is all it needs."""
    return (
        f"could not start the container: {exc}. The vLLM runtime is missing or incomplete: "
        "run `make prepare` (or python -m tutorial_lib.local prepare)."
    )


def delete_pod(connection: Connection, name: str, namespace: str) -> None:
    """``kubectl delete pod --grace-period=0``: the object goes, the process is gone already."""
    connection.call(connection.core.delete_namespaced_pod, name, namespace, grace_period_seconds=0)


class Bridge:
    """Watches pods and keeps one ``PodRunner`` per vLLM pod bound to a node."""

    def __init__(
        self, connection: Connection, env: runtime.Runtime, gpus: devices.Devices | None = None
    ) -> None:
        self.connection, self.env, self.gpus = connection, env, gpus
        self.runners: dict[str, PodRunner] = {}
        self.stopping = threading.Event()
        self._events: ListWatch | None = None

    def handle(self, event: str, pod: V1Pod) -> None:
        uid = pod.metadata.uid
        if not pod.spec.node_name or not runs_vllm(pod):
            return
        runner = self.runners.get(uid)
        if event == "DELETED":  # gone without a graceful deletion (e.g. --force)
            if runner is not None:
                runner.stop(0)
            return
        if pod.metadata.deletion_timestamp is not None:
            if runner is None:  # no process of ours: nothing to stop, just let it go
                with contextlib.suppress(ClusterError):
                    delete_pod(self.connection, pod.metadata.name, pod.metadata.namespace)
            else:  # again for a second, shorter deletion (kubectl delete --grace-period=1)
                grace = pod.metadata.deletion_grace_period_seconds
                runner.stop(float(grace if grace is not None else 30))
            return
        if runner is None:
            log.info("starting pod %s/%s", pod.metadata.namespace, pod.metadata.name)
            runner = self.runners[uid] = PodRunner(self.connection, pod, self.env, self.gpus)
            runner.start()

    def _stop_vanished(self, present: Iterable[str]) -> None:
        """After a (re)list: stop the runners whose pods are gone (missed while not watching)."""
        present = set(present)
        for uid, runner in list(self.runners.items()):
            if uid not in present:
                runner.stop(0)

    def events(self) -> ListWatch:
        """Every pod's events: a list (stopping runners whose pods vanished), then the watch.

        The watch resumes by itself after a server-side timeout, lists again after a 410
        and waits out an API server restart.
        """
        events = ListWatch(
            self.connection,
            self.connection.core.list_pod_for_all_namespaces,
            on_list=lambda: self._stop_vanished(events.known),
        )
        self._events = events
        if self.stopping.is_set():
            events.stop()
        return events

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                for event in self.events():
                    if self.stopping.is_set():
                        break
                    self.handle(event.type, event.object)
                    self._forget_finished()
            except Exception as exc:  # refused by the API server (not just away), or a bug
                if self.stopping.is_set():
                    break
                log.warning("pod watch interrupted (%s); resuming", exc)
                time.sleep(1)

    def _forget_finished(self) -> None:
        for uid, runner in list(self.runners.items()):
            if not runner.thread.is_alive():
                del self.runners[uid]

    def shutdown(self, watcher: threading.Thread | None = None) -> None:
        """Stop every container; their pods go, and their Deployments create new ones."""
        self.stopping.set()
        if self._events is not None:
            self._events.stop()
        if watcher is not None:  # no new runner starts once the watch has ended
            watcher.join(timeout=5)
        runners = list(self.runners.values())
        for runner in runners:
            runner.stop(10, pre_stop=False)  # the whole node goes: no one to drain towards
        for runner in runners:
            runner.thread.join(timeout=15)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # urllib3 warns at every retry while the API server restarts; the watches wait it out.
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    env = runtime.installed()
    if env is None:
        raise SystemExit(
            "The vLLM runtime is not installed: run `python -m tutorial_lib.local prepare`."
        )
    held = None
    if env.build is runtime.Build.CUDA:
        held = devices.Devices(gpu.index for gpu in gpus.backing())
    orphans = cluster.leftover_pids(containers_only=True)
    if orphans:  # containers of a bridge that crashed: a kubelet restart kills them too
        log.info("stopping %d process(es) left by a previous bridge", len(orphans))
        cluster.terminate(orphans)
    connection = from_kubeconfig(paths.kubeconfig_path(), cluster.CONTEXT, local=True)
    bridge = Bridge(connection, env, held)
    signal.signal(signal.SIGTERM, lambda *_: bridge.stopping.set())
    watcher = threading.Thread(target=bridge.run, name="watch", daemon=True)
    watcher.start()
    bridge.stopping.wait()
    bridge.shutdown(watcher)


if __name__ == "__main__":
    main()
