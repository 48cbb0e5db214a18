"""Talking to vLLM and Prometheus by URL: completions, vLLM metrics, PromQL. No Kubernetes."""
