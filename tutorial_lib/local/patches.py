"""The tutorial's patches of upstream programs that have no option for what it needs.

Two close a door the security audit found open on a shared machine (docs/decisions.md,
*Two upstream patches*): Karpenter binds its metrics and health ports on every interface;
kwok's kubelet API answers anyone on the machine (TLS without client certificates, and
plain HTTP on the same port). The third ends kwok's port-forward tunnel when either side
hangs up, as a proxy does: it waited for both, so a client that gave up left vLLM's
connection open, and vLLM, which waits for its connections on SIGTERM, lived until the
grace period's SIGKILL (notebook 07). Each is built from the module's source checked
against its go.sum hash (``tutorial_lib.tools.gopatch``).
"""

from __future__ import annotations

from tutorial_lib.local import paths, versions
from tutorial_lib.tools.gopatch import Patch

KARPENTER = Patch(
    module=versions.KARPENTER_MODULE,
    version=versions.KARPENTER,
    h1=versions.KARPENTER_H1,
    edits={
        "pkg/operator/operator.go": tuple(
            (
                f'":%d", options.FromContext(ctx).{port})',
                f'"127.0.0.1:%d", options.FromContext(ctx).{port})',
            )
            for port in ("MetricsPort", "HealthProbePort")
        )
    },
)

#: kwok's Tunnel, after the first copy ended: waits for the second as well.
TUNNEL_WAITS_FOR_BOTH = """\tcase err1 := <-errCh:
\t\tselect {
\t\tcase <-ctx.Done():
\t\t\tif err1 != nil {
\t\t\t\treturn err1
\t\t\t}
\t\t\t// Do nothing
\t\tcase err2 := <-errCh:
\t\t\tif err1 != nil {
\t\t\t\treturn err1
\t\t\t}
\t\t\treturn err2
\t\t}
\t}
"""
TUNNEL_ENDS_WITH_EITHER = """\tcase err1 := <-errCh:
\t\t// The tutorial's patch: one side has ended, so the tunnel does; the caller closes both.
\t\treturn err1
\t}
"""

KWOK = Patch(
    module=versions.KWOK_MODULE,
    version=versions.KWOK,
    h1=versions.KWOK_H1,
    edits={
        "pkg/kwok/server/server.go": (
            (
                "\t\t\terr = svc.ServeTLS(tlsListener, certFile, privateKeyFile)",
                "\t\t\tsvc.TLSConfig = tutorialClientAuth(certFile)\n"
                "\t\t\terr = svc.ServeTLS(tlsListener, certFile, privateKeyFile)",
            ),
            (
                "\t\terr = svc.Serve(unmatchedListener)",
                "\t\tsvc.Handler = tutorialRefusePlain(svc.Handler)\n"
                "\t\terr = svc.Serve(unmatchedListener)",
            ),
        ),
        "pkg/utils/net/tunnel.go": (
            # Buffered: the copy still running may end later without a reader.
            ("\terrCh := make(chan error)\n", "\terrCh := make(chan error, 2)\n"),
            (TUNNEL_WAITS_FOR_BOTH, TUNNEL_ENDS_WITH_EITHER),
        ),
    },
    added={"pkg/kwok/server/tutorial_client_auth.go": paths.package_text("kwok_client_auth.go")},
)
