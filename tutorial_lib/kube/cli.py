"""kubectl as the reader types it: the kubectl track of every notebook step.

Each library call names its kubectl equivalent; ``tl.kubectl(cluster, "get", "pods", "-n",
"ml-models")`` runs it against the tutorial's cluster and shows what a terminal would.
In a terminal the same command needs the tutorial's kubeconfig: ``export KUBECONFIG=$(python
-m tutorial_lib.local kubeconfig)`` for the local cluster, your own context otherwise.
"""

from __future__ import annotations

import shlex

from tutorial_lib.kube.connection import Connection
from tutorial_lib.tools.text import Text


def kubectl(cluster: Connection, *args: str, timeout: float = 60) -> Text:
    """Run ``kubectl <args>`` on the cluster; the command line and its output, errors too.

    A failing command is shown, not raised: reading kubectl's own error is the lesson.
    """
    done = cluster.run_kubectl(*args, timeout=timeout)
    output = (done.stdout + done.stderr).rstrip()
    status = "" if done.returncode == 0 else f"\n(exit code {done.returncode})"
    return Text(f"$ kubectl {shlex.join(args)}\n{output}{status}")
