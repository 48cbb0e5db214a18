"""Whether a network plugin enforces NetworkPolicies, as far as its DaemonSet shows."""

from __future__ import annotations

from kubernetes import client

from tutorial_lib.kube.preflight.report import NETWORK_POLICY, OK, PROBLEM, WARNING, Finding, plural

#: DaemonSets of network plugins that enforce NetworkPolicies.
POLICY_ENGINES = {
    "calico-node": "Calico",
    "cilium": "Cilium",
    "antrea-agent": "Antrea",
    "kube-router": "kube-router",
    "weave-net": "Weave Net",
    "canal": "Canal",
}
#: The VPC CNI's DaemonSet and its network policy agent's container (EKS add-on, Helm chart).
AWS_NODE = "aws-node"
AWS_POLICY_AGENTS = ("aws-eks-nodeagent", "aws-network-policy-agent")

_ENABLE_VPC_CNI_POLICY = (
    "aws eks update-addon --cluster-name <cluster> --addon-name vpc-cni "
    '--configuration-values \'{"enableNetworkPolicy": "true"}\' '
    "(VPC CNI 1.14 or newer); then kubectl -n kube-system get ds aws-node -o "
    "jsonpath='{.spec.template.spec.containers[*].args}' shows --enable-network-policy=true"
)


def _container_args(ds: client.V1DaemonSet, container: str) -> list[str] | None:
    for c in ds.spec.template.spec.containers or []:
        if c.name == container:
            return [*(c.command or []), *(c.args or [])]
    return None


def _policy_enabled(args: list[str]) -> bool:
    for index, arg in enumerate(args):
        if arg in ("--enable-network-policy=true", "-enable-network-policy=true"):
            return True
        if arg.lstrip("-") == "enable-network-policy" and args[index + 1 : index + 2] == ["true"]:
            return True
    return False


def network_policy_finding(daemonsets: list[client.V1DaemonSet], *, local: bool) -> Finding:
    """Is a NetworkPolicy engine running? Not detectable with certainty: known DaemonSets."""
    if local:
        return Finding(
            NETWORK_POLICY,
            WARNING,
            "Not enforced: the local cluster has no pod network (kwok simulates the nodes), so "
            "NetworkPolicies are stored and nothing filters traffic. Notebook 02 checks the "
            "policy flow by flow with a policy engine (cyclonus) instead.",
            f"Nothing to do locally. On EKS: {_ENABLE_VPC_CNI_POLICY}",
        )
    engines = [
        f"{POLICY_ENGINES[d.metadata.name]} ({d.metadata.namespace}/{d.metadata.name})"
        for d in daemonsets
        if d.metadata.name in POLICY_ENGINES
    ]
    aws_node = next((d for d in daemonsets if d.metadata.name == AWS_NODE), None)
    agent_args = None
    agent = None
    if aws_node is not None:
        for name in AWS_POLICY_AGENTS:
            agent_args = _container_args(aws_node, name)
            if agent_args is not None:
                agent = name
                break
    if agent_args is not None and _policy_enabled(agent_args):
        engines.append(f"the VPC CNI's network policy agent ({AWS_NODE}/{agent}, enabled)")
    if engines:
        return Finding(
            NETWORK_POLICY, OK, f"Enforced by {plural(engines)} (as far as its DaemonSet shows)."
        )
    if aws_node is not None:
        state = (
            f"its {agent} container runs with network policy off"
            if agent
            else "it has no network policy agent"
        )
        return Finding(
            NETWORK_POLICY,
            PROBLEM,
            f"The VPC CNI ({AWS_NODE}) does not enforce NetworkPolicies ({state}; off by "
            "default): the tutorial's NetworkPolicy is stored but has no effect, and every pod "
            "in the cluster can call the model.",
            _ENABLE_VPC_CNI_POLICY,
        )
    return Finding(
        NETWORK_POLICY,
        WARNING,
        "No known policy engine found (Calico, Cilium, Antrea, the VPC CNI's agent, ...): "
        "NetworkPolicies may be stored without effect, which nothing reports.",
        "To tell: in a test namespace, apply a NetworkPolicy that denies all ingress and try "
        "to reach a pod there from another pod (kubectl run --rm -it probe --image=busybox -- "
        "wget -T 3 <pod IP>); it must time out. Your CNI's documentation says how to enable "
        "enforcement.",
    )
