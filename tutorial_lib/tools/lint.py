"""What the linters platform teams run say about the manifests: kube-score and checkov.

Both read the rendered overlay, the objects ``kubectl apply -k`` would send, and neither
needs a cluster or the network: kube-score is built from the Go module proxy into the
tutorial's cache, checkov is installed from PyPI into a venv of its own there
(``binaries.CHECKOV``) and run with ``--skip-download`` (no call to its vendor's platform).
The findings we keep are listed with their reasons in ``manifests/accepted-findings.yaml``;
``unaccepted`` is the rest, and ``check`` fails on it.

Shell equivalent::

    kubectl kustomize manifests/overlays/eks-l4 > eks-l4.yaml
    kube-score score --kubernetes-version v1.36 eks-l4.yaml
    checkov -f eks-l4.yaml --framework kubernetes --skip-download --compact
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from tutorial_lib.errors import ManifestError, ToolError
from tutorial_lib.tools import binaries, manifests, process, versions

#: The findings we keep, each with its reason (one list for every overlay).
ACCEPTED = manifests.ROOT / "accepted-findings.yaml"
KUBE_SCORE = "kube-score"
CHECKOV = "checkov"
LINTERS = (KUBE_SCORE, CHECKOV)
#: The API version the manifests are written for (the local cluster runs v1.36.3).
KUBERNETES_VERSION = "v1.36"
#: kube-score checks that are off by default but hold decisions of ours: the memory limit
#: equals the request (deployment.yaml says why), and a seccomp profile is set.
KUBE_SCORE_OPTIONAL = ("container-memory-requests-equal-limits", "container-seccomp-profile")
#: kube-score's grade of a passed check (critical is 1, warning 5).
_KUBE_SCORE_OK = 10
_TIMEOUT = 120


@dataclass(frozen=True)
class Finding:
    """One failed check: which tool, which check, on which object, in the tool's words."""

    tool: str
    check: str
    object: str  # Kind/name, e.g. Deployment/vllm
    message: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.tool, self.check, self.object

    def __str__(self) -> str:
        return f"{self.tool} {self.check} on {self.object}: {self.message}"


@dataclass(frozen=True)
class Accepted:
    """A finding we keep, and why."""

    tool: str
    check: str
    object: str
    reason: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.tool, self.check, self.object


def accepted(path: str | Path = ACCEPTED) -> list[Accepted]:
    """The accepted findings: a YAML list of ``tool``, ``check``, ``object``, ``reason``."""
    path = Path(path)
    entries = yaml.safe_load(path.read_text()) or []
    fields = ("tool", "check", "object", "reason")
    result = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or sorted(entry) != sorted(fields):
            raise ManifestError(
                f"Entry {number} of {path} is {entry!r}.",
                f"Each entry has exactly the keys {', '.join(fields)}.",
            )
        if entry["tool"] not in LINTERS or not str(entry["reason"]).strip():
            raise ManifestError(
                f"Entry {number} of {path} names the tool {entry['tool']!r} or gives no reason.",
                f"The tool is one of {', '.join(LINTERS)}; the reason says why we keep it.",
            )
        result.append(Accepted(**{key: str(entry[key]).strip() for key in fields}))
    return result


def findings(target: str | Path) -> list[Finding]:
    """Every finding of kube-score and checkov on an overlay, folder or file, as rendered."""
    objects = manifests.render(target)
    with tempfile.TemporaryDirectory(prefix="lint-") as tmp:
        rendered = Path(tmp) / "rendered.yaml"
        rendered.write_text(yaml.safe_dump_all(objects, sort_keys=False))
        return kube_score(rendered) + checkov(rendered)


def unaccepted(
    found: Iterable[Finding], accepted_findings: Sequence[Accepted] | None = None
) -> list[Finding]:
    """The findings no accepted entry covers."""
    keys = {a.key for a in (accepted(ACCEPTED) if accepted_findings is None else accepted_findings)}
    return [finding for finding in found if finding.key not in keys]


def unmatched(found: Iterable[Finding], accepted_findings: Sequence[Accepted]) -> list[Accepted]:
    """The accepted entries no finding matches any more (fixed, or a check renamed)."""
    keys = {finding.key for finding in found}
    return [entry for entry in accepted_findings if entry.key not in keys]


def table(found: Iterable[Finding], accepted_findings: Sequence[Accepted] = ()) -> pd.DataFrame:
    """The findings, each with the reason it is accepted (empty when it is not)."""
    reasons = {entry.key: entry.reason for entry in accepted_findings}
    rows = [
        {
            "tool": f.tool,
            "check": f.check,
            "object": f.object,
            "message": f.message,
            "accepted because": reasons.get(f.key, ""),
        }
        for f in found
    ]
    return pd.DataFrame(rows, columns=["tool", "check", "object", "message", "accepted because"])


def check(target: str | Path, accepted_findings: Sequence[Accepted] | None = None) -> None:
    """Raise ManifestError listing every finding on ``target`` that is not accepted."""
    left = unaccepted(findings(target), accepted_findings)
    if left:
        listing = "\n".join(f"- {finding}" for finding in left)
        raise ManifestError(
            f"{len(left)} linter finding(s) on {target} are not accepted:\n{listing}",
            f"Fix the manifest, or add the finding with its reason to {ACCEPTED}.",
        )


# --- kube-score ---------------------------------------------------------------------------


def kube_score(path: Path) -> list[Finding]:
    """``kube-score score`` on one YAML file (default checks and ``KUBE_SCORE_OPTIONAL``)."""
    command = [str(binaries.tool(binaries.KUBE_SCORE)), "score", "--output-format", "json"]
    command += ["--kubernetes-version", KUBERNETES_VERSION]
    for test in KUBE_SCORE_OPTIONAL:
        command += ["--enable-optional-test", test]
    proc = process.run([*command, path], timeout=_TIMEOUT)
    # Exit 1 means "a critical finding", as with any failure: the JSON tells them apart.
    return _report(
        KUBE_SCORE,
        proc,
        parse_kube_score,
        path,
        shown=slice(None, 2000),  # its message comes first
        hint="The message names the object it could not read.",
    )


def parse_kube_score(output: str) -> list[Finding]:
    """The findings in kube-score's JSON report (v2): one per failed, not skipped check."""
    found = []
    for obj in json.loads(output):
        kind = obj["type_meta"]["kind"]
        name = f"{kind}/{obj['object_meta']['name']}"
        for result in obj["checks"]:
            if result.get("skipped") or result["grade"] >= _KUBE_SCORE_OK:
                continue
            comments = result.get("comments") or []
            message = "; ".join(
                " ".join(part for part in (c.get("path"), c.get("summary")) if part)
                + (f" ({c['description']})" if c.get("description") else "")
                for c in comments
            )
            found.append(Finding(KUBE_SCORE, result["check"]["id"], name, message))
    return found


# --- checkov ------------------------------------------------------------------------------


def checkov(path: Path) -> list[Finding]:
    """``checkov --framework kubernetes`` on one YAML file, offline."""
    command = [str(binaries.tool(binaries.CHECKOV)), "--file", str(path)]
    command += ["--framework", "kubernetes"]
    command += ["--output", "json", "--compact", "--quiet", "--skip-download"]
    # No version check, no telemetry, no vendor mappings: the run stays on this machine.
    env = os.environ | {"BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    proc = process.run(command, timeout=_TIMEOUT, env=env, cwd=path.parent)
    return _report(
        CHECKOV,
        proc,
        parse_checkov,
        path,
        shown=slice(-2000, None),  # its message ends a traceback
        hint="checkov's own message is above.",
    )


def parse_checkov(output: str) -> list[Finding]:
    """The failed checks in checkov's JSON report, each on ``Kind.namespace.name``.

    A report of another checkov version, or one that read no object (checkov reports YAML
    it cannot parse as zero resources, not as an error), is refused with ToolError.
    """
    report = json.loads(output)
    summary = report.get("summary", report)
    version = summary.get("checkov_version")
    if version != versions.CHECKOV:
        raise ToolError(
            f"checkov {version} ran, but the accepted findings are checked against "
            f"checkov {versions.CHECKOV}: other versions have other checks.",
            f"Delete {binaries.CHECKOV.path}: the next lint installs checkov "
            f"{versions.CHECKOV} again.",
        )
    if summary.get("parsing_errors") or not summary.get("resource_count"):
        raise ToolError(
            f"checkov read no Kubernetes object: {summary}.",
            "Is the file a Kubernetes manifest? kubectl kustomize shows what was rendered.",
        )
    found = []
    for result in report.get("results", {}).get("failed_checks", []):
        kind, _namespace, name = result["resource"].split(".", 2)
        found.append(Finding(CHECKOV, result["check_id"], f"{kind}/{name}", result["check_name"]))
    return found


def _report(
    tool: str,
    proc: subprocess.CompletedProcess[str],
    parse: Callable[[str], list[Finding]],
    path: Path,
    *,
    shown: slice,
    hint: str,
) -> list[Finding]:
    """The findings in a linter's JSON output; ToolError with what it said when there are none.

    ``shown`` is the part of its output the error quotes (where the tool puts its message).
    """
    try:
        return parse(proc.stdout)
    except (ValueError, KeyError, TypeError) as exc:
        raise ToolError(
            f"{tool} gave no report on {path} (exit {proc.returncode}): "
            f"{(proc.stderr or proc.stdout).strip()[shown]}",
            hint,
        ) from exc
