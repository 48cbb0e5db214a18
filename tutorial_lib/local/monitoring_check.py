"""One room's bad monitoring object must not stop Prometheus for every room.

Prometheus takes its configuration and rule files whole: one bad scrape job or rule file and
a reload keeps the old configuration for everyone, a restart does not start at all. So each
ServiceMonitor's scrape job and each PrometheusRule's rule file is checked with promtool
before it is written; a refused one is left out, the others go on, and the refusal is
reported on its object as a Warning event, where its room sees it (``kubectl describe``,
``kubectl get events``).
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

#: A scrape job's name as ``monitoring.desired`` writes it: ``serviceMonitor/<ns>/<name>/<i>``.
JOB_PREFIX = "serviceMonitor/"


@dataclass(frozen=True)
class Refusal:
    """A monitoring object promtool refused, and its words."""

    kind: str
    namespace: str
    name: str
    report: str

    def message(self) -> str:
        return (
            f"Not loaded into the local Prometheus (the other objects are): promtool says: "
            f"{self.report}"
        )


def _last_lines(text: str, count: int = 4) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-count:])


class Promtool:
    """``promtool check`` on one scrape job or one rule file; verdicts kept by content."""

    def __init__(self, binary: Path) -> None:
        self.binary = binary
        self._verdicts: dict[str, str | None] = {}

    def problem(self, what: str, text: str) -> str | None:
        """What promtool finds wrong in ``text`` (``what``: ``config``/``rules``); None if fine."""
        key = f"{what}:{hashlib.sha256(text.encode()).hexdigest()}"
        if key not in self._verdicts:
            self._verdicts[key] = self._check(what, text)
        return self._verdicts[key]

    def _check(self, what: str, text: str) -> str | None:
        with tempfile.TemporaryDirectory(prefix="promtool-") as folder:
            path = Path(folder) / f"{what}.yaml"
            path.write_text(text)
            extra = ["--syntax-only"] if what == "config" else []
            proc = subprocess.run(
                [str(self.binary), "check", what, *extra, str(path)],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        return None if proc.returncode == 0 else _last_lines(proc.stdout + proc.stderr)


def _origin(job_name: str) -> tuple[str, str]:
    namespace, name, _index = job_name.removeprefix(JOB_PREFIX).split("/")
    return namespace, name


def _rule_origin(relative: str) -> tuple[str, str]:
    namespace, _, name = Path(relative).stem.partition("_")
    return namespace, name


def leave_out_refused(
    files: dict[str, str], problem: Callable[[str, str], str | None]
) -> list[Refusal]:
    """Drop from ``files`` (Prometheus' files by relative path) what promtool refuses.

    ``prometheus.yml`` keeps only the jobs that pass; a refused ServiceMonitor loses all its
    jobs (and their target files), a refused PrometheusRule its rule file.
    """
    refusals: dict[tuple[str, str, str], Refusal] = {}
    config = yaml.safe_load(files["prometheus.yml"])
    for job in config.get("scrape_configs") or []:
        report = problem("config", yaml.safe_dump({"scrape_configs": [job]}))
        if report:
            namespace, name = _origin(job["job_name"])
            refusals.setdefault(
                ("ServiceMonitor", namespace, name),
                Refusal("ServiceMonitor", namespace, name, report),
            )
    refused_monitors = {(r.namespace, r.name) for r in refusals.values()}
    config["scrape_configs"] = [
        job
        for job in config.get("scrape_configs") or []
        if _origin(job["job_name"]) not in refused_monitors
    ]
    for relative in [r for r in files if r.startswith("targets/")]:
        namespace, _, rest = Path(relative).stem.partition("_")
        if any(namespace == ns and rest.startswith(f"{name}_") for ns, name in refused_monitors):
            del files[relative]
    files["prometheus.yml"] = yaml.safe_dump(config, sort_keys=False)
    for relative in [r for r in files if r.startswith("rules/")]:
        report = problem("rules", files[relative])
        if report:
            namespace, name = _rule_origin(relative)
            refusals[("PrometheusRule", namespace, name)] = Refusal(
                "PrometheusRule", namespace, name, report
            )
            del files[relative]
    return list(refusals.values())
