"""``python -m tutorial_lib.local doctor``: each problem named with its fix, and the exit status.

The commands run for real in a subprocess, with the unit tier's empty cache, offline and
without Go (tests/unit/conftest.py); a small disk is a real 32 MiB tmpfs in a mount namespace
of the test's own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest

from tests.helpers import H100, fake_nvidia_smi
from tutorial_lib.local import doctor, gpus, ports, runtime


def run_doctor(*prefix: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "tutorial_lib.local", "doctor"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


def problem(findings: list[doctor.Finding], check: str) -> doctor.Finding:
    return next(f for f in findings if f.check == check and not f.ok)


def test_offline_without_go_is_a_problem_with_its_fix():
    report = run_doctor()
    assert report.returncode == 1, report.stdout
    go_line = next(line for line in report.stdout.splitlines() if " go " in f" {line} ")
    assert go_line.startswith("ERR")
    assert "needed (offline)" in go_line
    assert "Install Go 1.26" in report.stdout
    assert "problem(s) stop `make demo`" in report.stdout


def test_the_quiet_form_prints_only_the_problems():
    lines = run_doctor().stdout.splitlines()
    quiet = subprocess.run(
        [sys.executable, "-m", "tutorial_lib.local", "doctor", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert quiet.returncode == 1
    assert [line for line in quiet.stdout.splitlines() if line.startswith("ok")] == []
    assert len(quiet.stdout.splitlines()) < len(lines)


def test_a_cache_on_a_small_disk_is_refused(tmp_path):
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed to give this test a small disk")
    small = tmp_path / "small"
    small.mkdir()
    mount = f'mount -t tmpfs -o size=32m tmpfs {small} && exec "$@"'
    env = os.environ | {"VLLM_TUTORIAL_CACHE": str(small / "cache")}
    report = run_doctor("unshare", "--map-root-user", "--mount", "sh", "-c", mount, "sh", env=env)
    assert report.returncode == 1, report.stderr
    disk = next(line for line in report.stdout.splitlines() if "disk" in line)
    assert disk.startswith("ERR")
    assert f"0.0 GiB free at {small}" in disk
    assert "VLLM_TUTORIAL_CACHE" in report.stdout


def test_the_prometheus_port_taken_by_another_program(monkeypatch):
    with socket.socket() as other_program:
        port = _bind_below_the_ephemeral_range(other_program)
        monkeypatch.setenv(ports.OFFSET_ENV, str(port - ports.PROMETHEUS))
        found = problem(doctor.examine(), "port")
    assert found.blocking
    assert f"{port} is taken by another program" in found.detail
    assert f"sport = :{port}" in found.fix


def _bind_below_the_ephemeral_range(sock: socket.socket) -> int:
    """A port the local Prometheus could be moved to (a cluster's offset), held by ``sock``."""
    for port in range(ports.PROMETHEUS + 5000, ports.PROMETHEUS + ports.MAX_OFFSET):
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
    pytest.fail("no free port below the ephemeral range")


def test_a_complete_cache_offline_needs_neither_go_nor_downloads():
    findings = doctor.examine(doctor.Missing(binaries=(), runtime=False))
    assert not [f for f in findings if f.check in ("go", "download")]
    assert next(f for f in findings if f.check == "cache").detail.startswith("complete")


def test_a_cpu_without_avx2_is_named(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor : 0\nflags : fpu sse sse2 avx\n")
    found = doctor._cpu(cpuinfo)
    assert "AVX2 no" in found.detail
    assert "needs AVX2" in found.fix


def test_karpenter_needs_go_even_where_the_release_hosts_answer(monkeypatch):
    """Its kwok provider has no release binary: a first run builds it with Go."""
    monkeypatch.delenv("VLLM_TUTORIAL_OFFLINE", raising=False)
    both = doctor.Missing(("etcd", "karpenter-kwok"), runtime=False)
    finding = doctor._go(both, releases=True)
    assert finding is not None and not finding.ok  # the unit tier has no Go on PATH
    assert "needed (no release binary: karpenter-kwok) to build 1 binaries" in finding.detail
    assert "Install Go 1.26" in finding.fix
    assert doctor._go(doctor.Missing(("etcd",), runtime=False), releases=True) is None


def test_no_gpu_is_fine_the_stand_in_serves(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    finding = doctor._gpu()
    assert finding.ok and "no NVIDIA GPU" in finding.detail


def test_a_gpu_is_reported_with_driver_memory_and_capability(monkeypatch, tmp_path):
    monkeypatch.setenv("VLLM_TUTORIAL_CACHE", str(tmp_path / "cache"))  # no model downloaded
    monkeypatch.delenv("VLLM_TUTORIAL_OFFLINE", raising=False)
    fake_nvidia_smi(tmp_path, H100)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.delenv(gpus.SWITCH, raising=False)
    finding = doctor._gpu()
    assert finding.ok, finding.line()
    assert finding.detail.startswith(
        "1 x NVIDIA H100 80GB HBM3, driver 580.159.04 (CUDA 13.0), 81559 MiB"
    )
    assert "compute capability 9.0" in finding.detail
    assert f"the GPU node runs vLLM {runtime.VLLM_VERSION}'s CUDA build on it" in finding.detail
    assert "once the first `make prepare` or `up` downloads it" in finding.detail
    monkeypatch.setenv("VLLM_TUTORIAL_OFFLINE", "1")
    assert "serving the stand-in (VLLM_TUTORIAL_OFFLINE is set)" in doctor._gpu().detail
    monkeypatch.setenv(gpus.SWITCH, "off")
    assert f"{gpus.SWITCH}=off: the CPU stand-in serves the model" in doctor._gpu().detail


@pytest.mark.parametrize(
    ("answer", "code", "fix"),
    [
        ("0, NVIDIA L4, 535.183.01, 23034, 8.9", 0, "need driver 580 or newer: update it"),
        ("0, Tesla P100-PCIE-16GB, 580.65.06, 16384, 6.0", 0, "compute capability 7.5"),
        ("0, Tesla V100-SXM2-16GB, 580.65.06, 16384, 7.0", 0, "7.5 (Turing) or newer"),
        ("NVIDIA-SMI has failed because it couldn't communicate with the driver", 9, "driver"),
    ],
)
def test_a_gpu_vllm_cannot_use_says_why_without_stopping_the_demo(
    monkeypatch, tmp_path, answer, code, fix
):
    fake_nvidia_smi(tmp_path, answer, code)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    finding = doctor._gpu()
    assert not finding.ok and not finding.blocking, finding.line()
    assert fix in finding.fix
    if code:
        assert "couldn't communicate with the driver" in finding.detail


def test_the_disk_needed_is_the_build_s_and_the_blog_model_s(monkeypatch, tmp_path):
    """A GPU machine installs the CUDA build and downloads the blog's model: more disk."""
    monkeypatch.setenv("VLLM_TUTORIAL_CACHE", str(tmp_path / "cache"))
    for name in ("VLLM_TUTORIAL_OFFLINE", "HF_HUB_OFFLINE", "VLLM_TUTORIAL_BLOG_MODEL"):
        monkeypatch.delenv(name, raising=False)
    fake_nvidia_smi(tmp_path, H100)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.delenv(gpus.SWITCH, raising=False)
    runtime_only = doctor.Missing(binaries=(), runtime=True)
    assert "12.3 GiB needed" in doctor._disk(runtime_only, build=False).detail
    monkeypatch.setenv("VLLM_TUTORIAL_BLOG_MODEL", "off")
    assert "8.2 GiB needed" in doctor._disk(runtime_only, build=False).detail
    monkeypatch.setenv(gpus.SWITCH, "off")  # the CPU stand-in
    assert "6.0 GiB needed" in doctor._disk(runtime_only, build=False).detail
