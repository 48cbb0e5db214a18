"""``python -m tutorial_lib.local up | down | status | prepare | doctor | bundle | ...``.

Each command imports what it needs when it runs: ``install-bundle`` runs under a bare
``python3``, before the venv with the Kubernetes client exists.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tutorial_lib.errors import TutorialError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tutorial_lib.local",
        description="The tutorial's local Kubernetes cluster: a real control plane with a "
        "simulated g6.xlarge GPU node (kwok).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="create or repair the cluster (idempotent)")
    commands.add_parser("down", help="stop every process of the cluster and remove its state")
    commands.add_parser("status", help="list every component and its health")
    commands.add_parser("kubeconfig", help="print the path of the cluster's kubeconfig")
    commands.add_parser(
        "prepare", help="obtain the binaries, the vLLM runtime and the model; start nothing"
    )
    check = commands.add_parser(
        "doctor", help="check that this machine can run the tutorial; each problem with its fix"
    )
    check.add_argument("--quiet", action="store_true", help="print only the problems")
    pack = commands.add_parser(
        "bundle", help="pack everything a first run downloads into one file, for a workshop"
    )
    pack.add_argument("output", type=Path, help="the bundle to write (a .tar file)")
    commands.add_parser(
        "pin-releases",
        help="write the SHA-256 of every release file into the repository (where hosts answer)",
    )
    unpack = commands.add_parser(
        "install-bundle", help="install everything from a bundle, with no network at all"
    )
    unpack.add_argument("bundle", type=Path, help="a file made by the bundle command")
    unpack.add_argument(
        "--venv", type=Path, help="also create the notebook venv here from the bundle's wheels"
    )
    return parser


def _run(args: argparse.Namespace) -> int:
    if args.command == "doctor":
        from tutorial_lib.local import doctor

        return doctor.main(quiet=args.quiet)
    if args.command == "install-bundle":
        from tutorial_lib.local import bundle_install

        bundle_install.install(args.bundle, args.venv)
    elif args.command == "bundle":
        from tutorial_lib.local import bundle_make

        manifest = bundle_make.make(args.output)
        print(
            f"{args.output}: {manifest.size / 2**30:.2f} GiB, {len(manifest.files)} files, "
            f"for {manifest.machine} and Python {manifest.python}"
        )
    elif args.command == "pin-releases":
        from tutorial_lib.local import release_pins

        print(f"{release_pins.write()} pins written to {release_pins.pins.PINS_FILE}")
    elif args.command == "kubeconfig":
        from tutorial_lib.local import paths

        print(paths.kubeconfig_path())
    elif args.command == "prepare":
        _prepare()
    else:
        from tutorial_lib.local import cluster

        if args.command == "status":
            current = cluster.status()
            print(current)
            return 0 if current.healthy else 1
        if args.command == "up":
            cluster.up(switch_build=True)
        else:
            cluster.down()
    return 0


def _prepare() -> None:
    """What a reader's first run needs: the binaries, two at a time, and the runtime beside.

    On a first run Go's builds keep the cores busy while the runtime's installs mostly wait
    for downloads and the disk (docs/benchmarks.md has the cold run). The test tiers' own
    linters (kube-score, checkov) come when their tests first ask for them.
    """
    from concurrent.futures import ThreadPoolExecutor

    from tutorial_lib.local import binaries, blog_model, prometheus_ui, runtime
    from tutorial_lib.tools import binaries as tool_binaries

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="runtime") as beside:
        installing = beside.submit(runtime.ensure_runtime, retry_download=True)
        obtained = tool_binaries.ensure(binaries.FIRST_RUN, at_once=2)
        for name, path in obtained.items():
            print(f"{name:<24} {path}")
        binary = obtained["prometheus"]
        ui = prometheus_ui.ensure(binary, again=True)
        if ui is None:
            ui = "in the binary" if prometheus_ui.embedded(binary) else "not built (said above)"
        print(f"{'prometheus web UI':<24} {ui}")
        env = installing.result()
    print(f"{'vLLM ' + runtime.smoke(env):<24} {env.venv}")
    print(f"{'stand-in model':<24} {env.model_snapshot}")
    if env.build is runtime.Build.CUDA and (snapshot := blog_model.cached(env.hf_home)):
        print(f"{'the blog model':<24} {snapshot}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except TutorialError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
