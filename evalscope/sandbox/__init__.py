"""Untrusted code in a sandbox: bubblewrap namespaces and rlimits, a pool bounded by the CPUs.

One small interface, so another backend (Docker) can be added behind it::

    result = await run_python(code, stdin="", limits=Limits(wall_s=5))
    result.stdout, result.stderr, result.exit_code, result.limit, result.duration_s

``backend="bwrap"`` (the default) isolates; ``"unsafe_no_isolation"`` is an explicit opt-in that
runs a plain subprocess with rlimits and logs a warning on every run.  What the sandbox protects
against and what it does not: docs/sandbox.md.
"""

from evalscope.sandbox.models import Limits, RunResult, SandboxError, SandboxUnavailable
from evalscope.sandbox.run import SandboxPool, check_available, run_python

__all__ = [
    "Limits",
    "RunResult",
    "SandboxError",
    "SandboxPool",
    "SandboxUnavailable",
    "check_available",
    "run_python",
]
