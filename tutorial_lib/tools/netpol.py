"""NetworkPolicy verdicts on concrete flows, from a real policy engine instead of reading YAML.

The engine is cyclonus (built from the Go module proxy into the tutorial's cache), the
simulator that sig-network's policy-assistant grew out of: it evaluates Kubernetes'
NetworkPolicy semantics (selectors, ipBlocks with exceptions, ports, protocols, the
ingress *and* egress side of each flow) without a cluster or a CNI.

The EKS cluster of the blog does not enforce NetworkPolicies at all (the VPC CNI needs its
network-policy agent switched on), so these verdicts are what the policy *would* do.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd
import yaml

from tutorial_lib.domain.flows import Flow, Peer
from tutorial_lib.errors import ToolError
from tutorial_lib.tools import binaries, manifests, process

#: The blog's policy as published (two egress rules, no ingress rule).
BLOG_POLICY = Path(__file__).resolve().parent.parent / "blog" / "networkpolicy.yaml"

_VERDICT = re.compile(r"IS ALLOWED\?\s*\|\s*(TRUE|FALSE)")


def _peer_form(peer: Peer) -> dict:
    if peer.namespace is None:
        return {"IP": peer.ip}
    return {
        "IP": peer.ip,
        "Internal": {
            "Namespace": peer.namespace,
            "NamespaceLabels": {"kubernetes.io/metadata.name": peer.namespace},
            "PodLabels": dict(peer.labels),
        },
    }


def _flow_form(flow: Flow) -> dict:
    """A flow as cyclonus' traffic file describes it."""
    return {
        "Source": _peer_form(flow.source),
        "Destination": _peer_form(flow.destination),
        "Protocol": flow.protocol,
        "ResolvedPort": flow.port,
        "ResolvedPortName": "",
    }


def policies(target: str | Path | list[dict]) -> list[dict]:
    """The NetworkPolicies in a YAML file or kustomize folder, or among rendered objects."""
    found = target if isinstance(target, list) else manifests.render(target)
    return [obj for obj in found if obj.get("kind") == "NetworkPolicy"]


def verdicts(
    target: str | Path | list[dict], flows: Iterable[Flow | tuple[Flow, bool]]
) -> pd.DataFrame:
    """Is each flow allowed by the NetworkPolicies in ``target``? One row per flow.

    Pass ``(flow, expected)`` pairs to get an ``expected`` column and a ``correct`` one.
    """
    pairs = [(f, None) if isinstance(f, Flow) else f for f in flows]
    found = policies(target)
    if not found:
        where = "these objects" if isinstance(target, list) else target
        raise ToolError(f"No NetworkPolicy in {where}.", "Point at the manifests folder.")
    allowed = _simulate(found, [flow for flow, _ in pairs])
    table = pd.DataFrame(
        {
            "flow": [str(flow) for flow, _ in pairs],
            "allowed": allowed,
        }
    )
    if any(expected is not None for _, expected in pairs):
        table["expected"] = [expected for _, expected in pairs]
        table["correct"] = table["allowed"] == table["expected"]
    return table


def _simulate(found: list[dict], flows: list[Flow]) -> list[bool]:
    with tempfile.TemporaryDirectory(prefix="netpol-") as tmp:
        policy_file = Path(tmp) / "policies.yaml"
        policy_file.write_text(yaml.safe_dump_all(found))
        traffic_file = Path(tmp) / "traffic.json"
        traffic_file.write_text(json.dumps([_flow_form(flow) for flow in flows]))
        engine = binaries.tool(binaries.CYCLONUS)
        proc = process.run(
            [
                engine,
                "analyze",
                "--mode=query-traffic",
                f"--policy-path={policy_file}",
                f"--traffic-path={traffic_file}",
            ],
            timeout=120,
        )
    answers = _VERDICT.findall(proc.stdout)
    if proc.returncode != 0 or len(answers) != len(flows):
        raise ToolError(
            f"The policy engine failed ({engine}, exit {proc.returncode}):\n"
            f"{(proc.stderr or proc.stdout).strip()[-2000:]}",
            "Check that the policies are valid: kubectl apply --dry-run=server -f <file>.",
        )
    return [answer == "TRUE" for answer in answers]


def compare(
    policies_by_name: Mapping[str, str | Path], flows: Iterable[tuple[Flow, bool]]
) -> pd.DataFrame:
    """One row per flow: the expected verdict and each policy set's verdict side by side."""
    pairs = list(flows)
    table = pd.DataFrame({"flow": [str(f) for f, _ in pairs], "expected": [e for _, e in pairs]})
    for name, target in policies_by_name.items():
        table[name] = verdicts(target, [f for f, _ in pairs])["allowed"]
    return table
