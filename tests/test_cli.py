"""The top-level CLI: version, help, and every registered subcommand importable."""

import subprocess
import sys

from evalscope import __version__
from evalscope.cli import COMMAND_MODULES, build_parser


def test_version_flag():
    out = subprocess.run([sys.executable, "-m", "evalscope", "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.strip() == f"evalscope {__version__}"


def test_help_lists_every_subcommand():
    out = subprocess.run([sys.executable, "-m", "evalscope", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    parser = build_parser()
    names = parser._subparsers._group_actions[0].choices.keys()
    assert len(names) >= len(COMMAND_MODULES)  # each module registers at least one command
    for name in names:
        assert name in out.stdout
