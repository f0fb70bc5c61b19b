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


def test_help_does_not_import_the_engines():
    """`evalscope --help` builds every subparser without aiohttp, numpy, SQLAlchemy, FastAPI or celery
    (they made it take 1.5 s): the packages export their engines lazily."""
    code = (
        "import sys, evalscope.cli as c; c.build_parser(); "
        "heavy = [m for m in ('aiohttp', 'numpy', 'sqlalchemy', 'fastapi', 'celery', 'uvicorn') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # and the lazy exports still resolve
    from evalscope.client import StreamAccumulator
    from evalscope.eval import TaskConfig
    from evalscope.jobs import JobManager
    from evalscope.perf import PerfArguments, run_perf

    assert callable(run_perf) and PerfArguments and TaskConfig and JobManager and StreamAccumulator
