"""The tutorial's patches of upstream programs that have no option for what it needs.

Both close a door the security audit found open on a shared machine (docs/decisions.md,
*Two upstream patches*): Karpenter binds its metrics and health ports on every interface;
kwok's kubelet API answers anyone on the machine (TLS without client certificates, and
plain HTTP on the same port). Each is built from the module's source checked against its
go.sum hash (``tutorial_lib.tools.gopatch``).
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
        )
    },
    added={"pkg/kwok/server/tutorial_client_auth.go": paths.package_text("kwok_client_auth.go")},
)
