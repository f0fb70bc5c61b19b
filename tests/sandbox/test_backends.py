"""Where bwrap cannot run: a clear SandboxUnavailable; the unsafe backend: loud, every run; the pool's bound;
a sandbox that fails is a SandboxError, never the program's failure."""

from __future__ import annotations

import asyncio
import json
import logging
import stat

import pytest

from evalscope._cpus import usable_cpus
from evalscope.sandbox import (
    Limits,
    SandboxError,
    SandboxPool,
    SandboxUnavailable,
    check_available,
    run_python,
)
from evalscope.sandbox import bwrap as bw
from evalscope.sandbox import run as sandbox_run

from .conftest import run

pytestmark = pytest.mark.timeout(120)


def test_missing_bwrap_says_what_to_install_and_how_to_opt_out(monkeypatch):
    monkeypatch.setenv("EVALSCOPE_BWRAP", "/nonexistent/bwrap")
    with pytest.raises(SandboxUnavailable) as caught:
        check_available("bwrap")
    message = caught.value.message
    assert "/nonexistent/bwrap" in message and "apt-get install bubblewrap" in message
    assert "EVALSCOPE_BWRAP" in message and "unsafe_no_isolation" in message
    with pytest.raises(SandboxUnavailable):  # a run says the same, never falls back silently
        asyncio.run(run_python("print(1)"))


def test_a_bwrap_that_cannot_make_namespaces_is_unavailable(monkeypatch, tmp_path):
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("EVALSCOPE_BWRAP", str(fake))
    with pytest.raises(SandboxUnavailable) as caught:
        check_available()
    assert "No permissions to create new namespace" in caught.value.message
    assert "user namespaces" in caught.value.message and "unsafe_no_isolation" in caught.value.message


def test_an_unknown_backend_is_named():
    with pytest.raises(
        ValueError, match="sandbox backend: 'docker' is not one of bwrap, unsafe_no_isolation"
    ):
        check_available("docker")
    with pytest.raises(ValueError, match="sandbox backend"):
        SandboxPool(backend="nope")


def test_the_unsafe_backend_warns_on_every_run_and_keeps_its_rlimits(caplog, monkeypatch):
    monkeypatch.setenv("EVALSCOPE_BWRAP", "/nonexistent/bwrap")  # not needed, not looked at
    caplog.set_level(logging.WARNING, logger="evalscope.sandbox")
    r = run("import sys\nprint(sys.stdin.read() * 2)", stdin="ab", backend="unsafe_no_isolation")
    assert (r.stdout, r.exit_code, r.limit, r.backend) == ("abab\n", 0, None, "unsafe_no_isolation")
    r = run("while True:\n    pass\n", backend="unsafe_no_isolation", cpu_s=1, wall_s=60)
    assert r.limit == "cpu" and r.signal == 24 and r.exit_code is None
    r = run("while True:\n    print('z' * 100)\n", backend="unsafe_no_isolation", output_bytes=10_000)
    assert r.limit == "output" and len(r.stdout) <= 10_000
    warnings = [rec for rec in caplog.records if rec.levelno == logging.WARNING]
    assert len(warnings) == 3 and all("SANDBOX DISABLED" in w.getMessage() for w in warnings)
    caplog.clear()
    check_available("unsafe_no_isolation")
    assert "SANDBOX DISABLED" in caplog.text


def test_the_unsafe_backend_kills_a_leftover_that_holds_the_output_open(tag):
    # a daemon that left the process group and keeps stdout: the run ends at its wall clock, not never
    code = (
        "import os\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        f"    os.execv('/bin/sleep', ['sleep', '7.{tag}'])\n"
        "print('parent done')\n"
    )
    r = run(code, backend="unsafe_no_isolation", wall_s=2)
    assert r.stdout == "parent done\n" and r.limit == "time"
    # (unsafe: the daemon itself survives its session; it sleeps 7 s and is gone)


@pytest.mark.usefixtures("bwrap_ready")
def test_a_sandbox_that_fails_to_start_the_program_is_a_sandbox_error():
    async def broken():
        # bwrap is fine, the interpreter to exec is not there: the sandbox failed, not the program
        return await sandbox_run._run_bwrap(
            bw.find_bwrap(), "/usr/bin/no-such-python", "print(1)", "", Limits()
        )

    with pytest.raises(SandboxError, match="did not start"):
        asyncio.run(broken())


@pytest.mark.usefixtures("bwrap_ready")
def test_a_bad_sandbox_python_is_unavailable(monkeypatch, tmp_path):
    monkeypatch.setenv("EVALSCOPE_SANDBOX_PYTHON", str(tmp_path / "python-missing"))
    with pytest.raises(SandboxUnavailable, match="cannot make a sandbox"):
        check_available()


@pytest.mark.usefixtures("bwrap_ready")
def test_the_pool_runs_at_most_its_size_at_once():
    code = (
        "import json, time\nstart = time.time()\ntime.sleep(0.4)\nprint(json.dumps([start, time.time()]))\n"
    )

    async def go():
        pool = SandboxPool(2)
        return await asyncio.gather(*(pool.run_python(code) for _ in range(6)))

    spans = [json.loads(r.stdout) for r in asyncio.run(go())]
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    assert peak <= 2
    assert SandboxPool().size == usable_cpus()


def test_limits_are_bounded():
    with pytest.raises(ValueError, match="memory_mb"):
        Limits(memory_mb=10**9)
    with pytest.raises(ValueError, match="wall_s"):
        Limits(wall_s=float("inf"))
    with pytest.raises(ValueError, match="processes"):
        Limits(processes=0)
