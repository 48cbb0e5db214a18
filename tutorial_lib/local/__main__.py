"""``python -m tutorial_lib.local up | down | status | kubeconfig | prepare | doctor``."""

from __future__ import annotations

import argparse
import sys

from tutorial_lib.errors import TutorialError
from tutorial_lib.local import binaries, cluster, doctor, paths, runtime
from tutorial_lib.tools import binaries as tool_binaries


def main(argv: list[str] | None = None) -> int:
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
        "prepare", help="obtain binaries, tools, the vLLM runtime and the model; start nothing"
    )
    check = commands.add_parser(
        "doctor", help="check that this machine can run the tutorial; each problem with its fix"
    )
    check.add_argument("--quiet", action="store_true", help="print only the problems")
    args = parser.parse_args(argv)
    try:
        if args.command == "doctor":
            return doctor.main(quiet=args.quiet)
        if args.command == "up":
            cluster.up()
        elif args.command == "down":
            cluster.down()
        elif args.command == "status":
            current = cluster.status()
            print(current)
            return 0 if current.healthy else 1
        elif args.command == "kubeconfig":
            print(paths.kubeconfig_path())
        elif args.command == "prepare":
            everything = [*binaries.CLUSTER, *tool_binaries.TOOLS]
            for name, path in tool_binaries.ensure(everything).items():
                print(f"{name:<24} {path}")
            env = runtime.ensure_runtime()
            print(f"{'vLLM ' + runtime.smoke(env):<24} {env.venv}")
            print(f"{'stand-in model':<24} {env.model_snapshot}")
    except TutorialError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
