"""The `evalscope` command line: one entry point, one subcommand per capability.

Each capability lives in its own module and exposes ``register(subparsers)``, which adds its
subparser and sets ``func`` (a callable taking the parsed namespace and returning an exit code).
Adding a subcommand means adding its module to ``COMMAND_MODULES``; nothing else changes here.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from evalscope import __version__

# Order here is the order in `evalscope --help`.
COMMAND_MODULES: list[str] = [
    "evalscope.mock.cli",
    "evalscope.service.cli",
    "evalscope.jobs.cli",
    "evalscope.eval.cli",
    "evalscope.perf.cli",
    "evalscope.remote.cli",
    "evalscope.report.cli",
]


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="evalscope",
        description="Evaluate and load-test LLMs served behind OpenAI-compatible APIs.",
    )
    parser.add_argument("--version", action="version", version=f"evalscope {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
