"""A controllable job kind for the job system's tests (registered through ``register_kind`` or
``EVALSCOPE_JOB_KINDS``; never part of the product).

Config: ``steps`` (int), ``sleep`` (seconds per step), ``fail`` (raise at the end),
``crash`` (the worker kills itself mid-way, like an OOM kill), ``log`` (a line to log),
``api_key`` (echoed into the log and the result so tests can check it is scrubbed),
``wait_for`` (a file path: the job ends only once it exists, so a test decides when, not a timer),
``total`` (the total it reports progress against; default ``steps``).
It writes one file per step into its output folder, so resume can be checked: on resume it
skips the steps whose file exists.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

TARGET = "testing_kind:run"


def run(config: dict[str, Any], ctx: Any) -> dict[str, Any]:
    steps = int(config.get("steps", 3))
    total = int(config.get("total", steps))
    sleep = float(config.get("sleep", 0.0))
    log = logging.getLogger("testing_kind")
    if config.get("api_key"):
        log.info("using key %s", config["api_key"])
    if config.get("log"):
        log.info("%s", config["log"])
    ran = 0
    for i in range(steps):
        marker = ctx.output_dir / f"step_{i}.txt"
        if marker.exists():
            ctx.progress(i + 1, total)
            continue
        time.sleep(sleep)
        marker.write_text(str(os.getpid()))
        ran += 1
        ctx.progress(i + 1, total)
        if config.get("crash") and i == steps // 2:
            os.kill(os.getpid(), signal.SIGKILL)
    if config.get("wait_for"):
        gate = Path(config["wait_for"])
        deadline = time.monotonic() + 300
        while not gate.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{gate} never appeared")
            time.sleep(0.02)
    if config.get("fail"):
        raise RuntimeError(f"asked to fail (key {config.get('api_key')})")
    return {
        "steps": steps,
        "ran": ran,
        "pid": os.getpid(),
        "resume": ctx.resume,
        "output_dir": str(ctx.output_dir),
        "echo": config.get("api_key"),
    }
