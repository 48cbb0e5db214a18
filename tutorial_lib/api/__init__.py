"""The tutorial's own steps on top of the Kubernetes layer.

connect (the one door to the local cluster), the smoke test, live startup figures, and
reaching Prometheus.
"""
