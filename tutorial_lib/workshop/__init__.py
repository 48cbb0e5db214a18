"""Workshop mode: one namespace per attendee on a shared cluster, and the instructor's tool.

``python -m tutorial_lib.workshop create --attendees 20`` makes ``attendee-01`` ... each
with the rights and the quota of ``manifests/workshop/attendee.yaml`` and writes one
kubeconfig and one ``.env`` per attendee; ``status``, ``reset NAME`` and ``delete`` follow.
The notebooks need no change: ``VLLM_TUTORIAL_NAMESPACE`` moves everything they apply.
"""
