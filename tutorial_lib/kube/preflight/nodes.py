"""The GPU node, its label and its taint, as the Deployment's nodeSelector and tolerations ask."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kubernetes import client

from tutorial_lib import names
from tutorial_lib.kube import labels, nodegroup, objects
from tutorial_lib.kube.preflight.needs import Needs
from tutorial_lib.kube.preflight.report import (
    DEVICE_PLUGIN,
    GPU_NODE,
    NODE_LABEL,
    NODE_TAINT,
    OK,
    PROBLEM,
    WARNING,
    Finding,
    plural,
)
from tutorial_lib.kube.resources import HARD_EFFECTS, allocatable, human, taint_text, tolerates

#: The label Karpenter's kwok provider puts on the nodes it launches.
KWOK_NODE = "kwok.x-k8s.io/node"


def _node_ready(node: client.V1Node) -> bool:
    conditions = (node.status.conditions if node.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def node_labels(node: client.V1Node) -> dict[str, str]:
    return node.metadata.labels or {}


def _describe_node(node: client.V1Node) -> str:
    kwok = node_labels(node).get("type") == "kwok" or node_labels(node).get(KWOK_NODE) == "fake"
    simulated = " (simulated)" if kwok else ""
    product = node_labels(node).get("nvidia.com/gpu.product")
    gpus = allocatable(node, names.GPU_RESOURCE)
    return (
        f"{node.metadata.name}{simulated}: {gpus.normalize():f} x {names.GPU_RESOURCE}"
        + (f" ({product})" if product else "")
        + f", {human('cpu', allocatable(node, 'cpu'))}, "
        + f"{human('memory', allocatable(node, 'memory'))} allocatable"
        + ("" if _node_ready(node) else ", NotReady")
    )


def _short_of(node: client.V1Node, needs: Needs) -> list[str]:
    """What the pod requests beyond the node's allocatable (other pods not counted)."""
    short = []
    for resource in ("cpu", "memory", names.GPU_RESOURCE):
        wanted = needs.requests.get(resource)
        offered = allocatable(node, resource)
        if wanted is not None and wanted > offered:
            short.append(f"{resource} {human(resource, wanted)} > {human(resource, offered)}")
    return short


def pool_node(pool: dict[str, Any]) -> client.V1Node:
    """The node a Karpenter NodePool would launch, as far as its template says: labels, taints.

    Named ``NodePool <name>`` so that every finding says where the label or taint comes from.
    """
    template = pool.get("spec", {}).get("template", {})
    taints = [
        client.V1Taint(key=t["key"], value=t.get("value"), effect=t["effect"])
        for t in template.get("spec", {}).get("taints", [])
    ]
    return client.V1Node(
        metadata=client.V1ObjectMeta(
            name=f"NodePool {pool['metadata']['name']}",
            labels=template.get("metadata", {}).get("labels", {}),
        ),
        spec=client.V1NodeSpec(taints=taints),
    )


def gpu_node_findings(
    nodes: list[client.V1Node], needs: Needs, *, local: bool, pools: Sequence[dict[str, Any]] = ()
) -> tuple[Finding, Finding, Finding]:
    """The GPU node, its label and its taint, as the Deployment asks for them.

    With no GPU node right now, a Karpenter NodePool (``pools``) whose nodes would carry the
    Deployment's label stands in for one: it launches a node when the pod is Pending.
    """
    gpu_nodes = [n for n in nodes if allocatable(n, names.GPU_RESOURCE) >= max(needs.gpus, 1)]
    selector = needs.node_selector
    selector_text = objects.selector(selector)

    def matching(candidates: list[client.V1Node]) -> list[client.V1Node]:
        return [n for n in candidates if labels.matches({"matchLabels": selector}, node_labels(n))]

    labelled = matching(nodes)
    labelled_gpu = [n for n in gpu_nodes if n in labelled]
    launchers = [] if gpu_nodes else matching([pool_node(p) for p in pools])
    if launchers:
        return (
            _pool_launches(launchers, pools),
            Finding(
                NODE_LABEL,
                OK,
                f"{plural([n.metadata.name for n in launchers])} labels its nodes "
                f"{selector_text} (the Deployment's nodeSelector).",
            ),
            _node_taint(launchers, needs),
        )
    return (
        _gpu_node(gpu_nodes, labelled, needs, selector_text, local=local),
        _node_label(gpu_nodes, labelled, labelled_gpu, selector_text),
        _node_taint(labelled_gpu or gpu_nodes, needs),
    )


def _pool_launches(launchers: list[client.V1Node], pools: Sequence[dict[str, Any]]) -> Finding:
    by_name = {f"NodePool {p['metadata']['name']}": p for p in pools}
    described = []
    for node in launchers:
        pool = by_name[node.metadata.name]
        types = ", ".join(nodegroup.pool_instance_types(pool)) or "any instance type"
        limit = pool["spec"].get("limits", {}).get(names.GPU_RESOURCE)
        described.append(
            f"{node.metadata.name} ({types}"
            + (f", at most {limit} x {names.GPU_RESOURCE}" if limit else "")
            + ")"
        )
    return Finding(
        GPU_NODE,
        OK,
        f"No GPU node right now; Karpenter launches one when the vLLM pod is Pending: "
        f"{'; '.join(described)}. The first start waits for the node.",
        "kubectl get nodepools,nodeclaims",
    )


def _gpu_node(
    gpu_nodes: list[client.V1Node],
    labelled: list[client.V1Node],
    needs: Needs,
    selector_text: str,
    *,
    local: bool,
) -> Finding:
    if not gpu_nodes:
        if labelled:
            which = plural([n.metadata.name for n in labelled])
            return Finding(
                GPU_NODE,
                PROBLEM,
                f"{which} carr{'ies' if len(labelled) == 1 else 'y'} {selector_text} but "
                f"advertise{'s' if len(labelled) == 1 else ''} no {names.GPU_RESOURCE}: no "
                "device plugin runs there, or the driver did not load. The pod would stay "
                f"Pending with 'Insufficient {names.GPU_RESOURCE}'.",
                f"kubectl describe node {labelled[0].metadata.name} (Allocatable), and see "
                f"'{DEVICE_PLUGIN}'.",
            )
        if local:
            return Finding(
                GPU_NODE,
                PROBLEM,
                f"No node advertises {names.GPU_RESOURCE}.",
                "kubectl apply --server-side -k manifests/karpenter/local (the local GPU "
                "NodePool); python -m tutorial_lib.local status says whether Karpenter runs.",
            )
        return Finding(
            GPU_NODE,
            WARNING,
            f"No node advertises {names.GPU_RESOURCE} right now. Fine with a GPU node group at "
            "min size 0 and the Cluster Autoscaler or Karpenter (a node comes when the vLLM "
            "pod asks for it); without either the pod stays Pending.",
            "aws eks describe-nodegroup --cluster-name <cluster> --nodegroup-name <gpu group> "
            "--query 'nodegroup.[scalingConfig,labels,taints]'. To create one: "
            "aws eks create-nodegroup ... --instance-types g6.xlarge --ami-type "
            f"AL2023_x86_64_NVIDIA --labels {selector_text or 'workload=gpu-vllm'} --taints "
            "key=nvidia.com/gpu,value=true,effect=NO_SCHEDULE",
        )
    seen = "; ".join(_describe_node(n) for n in gpu_nodes)
    fitting = [n for n in gpu_nodes if not _short_of(n, needs)]
    if not fitting:
        short = "; ".join(f"{n.metadata.name}: {', '.join(_short_of(n, needs))}" for n in gpu_nodes)
        return Finding(
            GPU_NODE,
            PROBLEM,
            f"{seen}. The pod requests more than any GPU node offers ({short}): it stays "
            "Pending (the blog's 14Gi on a g6.xlarge).",
            "A larger instance type (g6.2xlarge: 8 vCPU, 32 GiB) or smaller requests in "
            "manifests/base/deployment.yaml.",
        )
    if not any(_node_ready(n) for n in fitting):
        return Finding(
            GPU_NODE,
            WARNING,
            f"{seen}: none Ready.",
            f"kubectl describe node {fitting[0].metadata.name} (Conditions, Events).",
        )
    return Finding(GPU_NODE, OK, seen)


def _node_label(
    gpu_nodes: list[client.V1Node],
    labelled: list[client.V1Node],
    labelled_gpu: list[client.V1Node],
    selector_text: str,
) -> Finding:
    lasting = (
        "lasting: the node group's labels (aws eks update-nodegroup-config --cluster-name "
        "<cluster> --nodegroup-name <gpu group> --labels "
        f"'addOrUpdateLabels={{{selector_text}}}'; eksctl: labels in the nodegroup)"
    )
    if not selector_text:
        return Finding(NODE_LABEL, WARNING, "The Deployment has no nodeSelector.", "")
    if labelled_gpu:
        which = plural([n.metadata.name for n in labelled_gpu])
        return Finding(
            NODE_LABEL, OK, f"{which} carries {selector_text} (the Deployment's nodeSelector)."
        )
    if gpu_nodes:
        first = gpu_nodes[0].metadata.name
        return Finding(
            NODE_LABEL,
            PROBLEM,
            f"No GPU node carries {selector_text}, the Deployment's nodeSelector: the pod "
            "stays Pending with \"didn't match Pod's node affinity/selector\" (GPU nodes: "
            f"{plural([n.metadata.name for n in gpu_nodes])}).",
            f"kubectl label node {first} {selector_text} (lost when the node is replaced); "
            + lasting,
        )
    if labelled:
        return Finding(
            NODE_LABEL,
            WARNING,
            f"{plural([n.metadata.name for n in labelled])} carr"
            f"{'ies' if len(labelled) == 1 else 'y'} {selector_text} but no GPU (see "
            f"'{GPU_NODE}').",
            "",
        )
    return Finding(
        NODE_LABEL,
        WARNING,
        f"No node to look at: a GPU node must carry {selector_text}, the Deployment's "
        "nodeSelector.",
        lasting.removeprefix("lasting: "),
    )


def _node_taint(pool: list[client.V1Node], needs: Needs) -> Finding:
    expected = needs.expected_taints()
    expected_text = plural(expected)
    node_group = (
        "the node group's taints (aws eks update-nodegroup-config ... --taints "
        "'addOrUpdateTaints=[{key=nvidia.com/gpu,value=true,effect=NO_SCHEDULE}]'; eksctl: "
        "taints in the nodegroup)"
    )
    if not pool:
        return Finding(
            NODE_TAINT,
            WARNING,
            f"No GPU node to look at: it should be tainted {expected_text} so that only pods "
            "that tolerate it (vLLM) land on the expensive node.",
            node_group,
        )
    blocked = {}
    for node in pool:
        hard = [
            t
            for t in node.spec.taints or []
            if t.effect in HARD_EFFECTS and not tolerates(needs.tolerations, t)
        ]
        if hard:
            blocked[node.metadata.name] = [taint_text(t) for t in hard]
    usable = [n for n in pool if n.metadata.name not in blocked]
    if not usable:
        detail = "; ".join(f"{name}: {', '.join(t)}" for name, t in blocked.items())
        return Finding(
            NODE_TAINT,
            PROBLEM,
            f"Taints the Deployment does not tolerate ({detail}): the pod stays Pending.",
            "Remove the taint (kubectl taint node <node> <key>:<effect>-) or add a toleration "
            "to the Deployment.",
        )
    missing: dict[str, list[str]] = {}
    for node in usable:
        present = {taint_text(t) for t in node.spec.taints or []}
        lacking = [taint for taint in expected if taint not in present]
        if lacking:
            missing[node.metadata.name] = lacking
    if missing:
        first, lacking = next(iter(missing.items()))
        return Finding(
            NODE_TAINT,
            WARNING,
            "; ".join(f"{name} lacks the taint {', '.join(t)}" for name, t in missing.items())
            + ": any pod may take the GPU node's CPU and memory (the blog's cost control is "
            "that only vLLM lands there).",
            f"kubectl taint node {first} {lacking[0]}; lasting: {node_group}",
        )
    which = plural([n.metadata.name for n in usable])
    return Finding(NODE_TAINT, OK, f"{which} tainted {expected_text}; the Deployment tolerates it.")
