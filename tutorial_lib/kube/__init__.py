"""The Kubernetes layer: connection, list→watch, objects, waits, logs, diagnosis, port-forward."""
