"""Pinned versions of everything the local cluster runs.

Kubernetes 1.36 and kwok v0.8.0 are released together (kwokctl v0.8.0 defaults to 1.36.1);
etcd stays on the 3.5 line because its ``etcdmain`` package builds from the Go module proxy.
"""

KUBERNETES = "v1.36.3"
ETCD = "v3.5.35"
KWOK = "v0.8.0"
KWOK_MODULE = "sigs.k8s.io/kwok"
#: go.sum's hash of the kwok module (``go mod download -json sigs.k8s.io/kwok@v0.8.0``: "Sum"):
#: kwok is built from this source with the tutorial's patch (``patches.py``).
KWOK_H1 = "h1:OTIOTwgROqPMovcTwxICx2eYQ4AwLpSx5EpjbDKF4SQ="

#: Kubernetes publishes its staging repositories (k8s.io/api, k8s.io/client-go, ...) as
#: ``v0.<minor>.<patch>`` for every ``v1.<minor>.<patch>`` release.
KUBERNETES_STAGING = "v0" + KUBERNETES[2:]

CLUSTER_NAME = "vllm-tutorial"

#: kwok's API (the Logs and PortForward objects the runtime bridge writes per pod).
KWOK_GROUP, KWOK_VERSION = "kwok.x-k8s.io", "v1alpha1"

#: Karpenter with its kwok cloud provider (``sigs.k8s.io/karpenter/kwok``): the node
#: autoscaler of the local GPU node group. Its go.mod wants Go 1.26.9; the build sets
#: ``GOTOOLCHAIN=auto``, so an older local Go fetches that toolchain from the module proxy
#: (docs/decisions.md, "Karpenter on the local cluster"). The module's go.sum hash pins the
#: source the CRDs are read from (``go mod download -json``: "Sum").
KARPENTER = "v1.15.0"
KARPENTER_MODULE = "sigs.k8s.io/karpenter"
KARPENTER_H1 = "h1:5SEptlAvsOZbNg4qg8OSdF1qi6BEZHZLA020nXY7jGw="

#: versitygw, Versity's S3 gateway over a folder (Apache-2.0): the local cluster's object
#: store, where S3 stands on EKS (``object_store``). Built from the Go module proxy.
VERSITYGW = "v1.8.0"
VERSITYGW_MODULE = "github.com/versity/versitygw"
