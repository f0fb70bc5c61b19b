"""``evalscope report <folder> [<folder2>]``: regenerate a run's report.html, or compare two runs."""

from __future__ import annotations

import argparse
import sys
import traceback


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand."""
    p = subparsers.add_parser(
        "report",
        help="write the HTML report of a perf or eval run, or compare two runs",
        description="With one folder: (re)write report.html in every run folder found at or below it "
        "(a run folder, a service job folder, or an outputs folder). With two run folders: "
        "write a side-by-side comparison, by default ./comparison_<A>_vs_<B>.html.",
    )
    p.add_argument("folders", nargs="+", metavar="FOLDER", help="one folder, or two run folders to compare")
    p.add_argument("-o", "--output", help="file to write (one run folder, or a comparison)")
    p.add_argument("--label-a", help="comparison: the name shown for the first run (default: its folder)")
    p.add_argument("--label-b", help="comparison: the name shown for the second run (default: its folder)")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.set_defaults(func=run_cli)


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def run_cli(args: argparse.Namespace) -> int:
    """Entry point of ``evalscope report``; prints the path of every file written."""
    from evalscope.report import ReportError, find_runs, write_comparison, write_report

    try:
        if len(args.folders) > 2:
            return _error(
                f"{len(args.folders)} folders given ({', '.join(args.folders)}): give one folder, "
                "or two run folders to compare"
            )
        if len(args.folders) == 1 and (args.label_a or args.label_b):
            return _error("--label-a/--label-b: name the runs of a comparison; give two run folders")
        if len(args.folders) == 2:
            path = write_comparison(
                args.folders[0], args.folders[1], args.output, label_a=args.label_a, label_b=args.label_b
            )
            print(f"comparison written to {path}")
            return 0
        runs = find_runs(args.folders[0])
        if not runs:
            return _error(
                f"{args.folders[0]}: no perf or eval run found at or below it (a run folder holds "
                "parallel_<p>_number_<n>/ folders or reports/<model>/<benchmark>.json)"
            )
        if args.output and len(runs) > 1:
            return _error(f"--output: {len(runs)} runs found below {args.folders[0]}; give one run folder")
        for kind, run in runs:
            path = write_report(run, args.output)
            print(f"{kind} report written to {path}")
        return 0
    except ReportError as exc:
        if args.debug:
            traceback.print_exc()
        return _error(str(exc))  # every ReportError names its folder or file
    except ImportError as exc:
        if args.debug:
            traceback.print_exc()
        return _error(f"{exc} (pip install 'evalscope[report]')")
