"""Fixtures of the sandbox tests: a working bwrap (else skip, saying why), a runner, host checks."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest

from evalscope.sandbox import Limits, RunResult, run_python


def run(code: str, stdin: str = "", backend: str = "bwrap", **limits) -> RunResult:
    """One run, every limit bounded (the sandbox's wall clock bounds the test's time too)."""
    return asyncio.run(run_python(code, stdin=stdin, limits=Limits(**limits), backend=backend))


def processes_with(tag: str) -> list[str]:
    """Host processes whose command line holds ``tag`` (read from /proc, as ps does)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if tag in cmdline and str(os.getpid()) != entry.name:
            found.append(f"{entry.name}: {cmdline}")
    return found


@pytest.fixture
def tag() -> str:
    """A unique number to put in a sleeping process's argv (``sleep 300.<digits>``), found by ps."""
    return str(uuid.uuid4().int)[:12]
