"""The toolchain every reader needs, cluster or not.

kubectl and kustomize rendering, the NetworkPolicy engine, promtool and the monitoring
manifests they check.
"""
