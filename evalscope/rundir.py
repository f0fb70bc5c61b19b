"""One run folder: where an engine run (eval or perf) writes, and what every reader finds there.

An engine is given an exact folder (a :class:`RunDir`) and writes straight into it: the CLI creates
a fresh one under ``--work-dir`` / ``--outputs-dir``; a job passes its own job folder, so a job's
folder *is* the run's folder (no nesting).  The common files are named here once:

```
<run folder>/
  config.json        # the engine's effective config, secrets redacted (written by the engine)
  job.json           # a job's own metadata (id, kind, submitted config), written by the job manager only
  logs/run.log       # the run's log: the engine's lines and, in a job, the worker's
  report.html        # the self-contained HTML report
  live.json          # a job's run only: the run so far, rewritten about once a second (evalscope.perf.live,
                     # evalscope.eval.live); the service streams it to the job's live page
  ...                # the engine's own files (eval: predictions/, reports/; perf: parallel_*/, benchmark_data.db)
```
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from evalscope.fsio import safe_name

CONFIG_FILE = "config.json"
JOB_FILE = "job.json"
LOG_FILE = "logs/run.log"
REPORT_FILE = "report.html"
LIVE_FILE = "live.json"


@dataclass(frozen=True)
class RunDir:
    """The folder of one run; the paths of the files every run has."""

    root: Path

    @classmethod
    def create(cls, base: str | Path, name: str | None = None, *, timestamp_only: bool = False) -> RunDir:
        """A new folder under ``base``, never an existing one (``mkdir`` without ``exist_ok`` makes the
        claim atomic between processes).

        ``name=None``: ``<base>/<YYYYMMDD_HHMMSS>_<random>`` (eval's layout).  With a name:
        ``<base>/<YYYYMMDD_HHMMSS>/<name>`` (EvalScope's perf layout), ``_1``, ``_2`` ... on a clash.
        """
        base_path = Path(base).expanduser().resolve()
        stamp = time.strftime("%Y%m%d_%H%M%S")
        if name is None:
            base_path.mkdir(parents=True, exist_ok=True)
            for _ in range(20):
                path = base_path / f"{stamp}_{secrets.token_hex(3)}"
                try:
                    path.mkdir()
                    return cls(path)
                except FileExistsError:
                    continue
            raise FileExistsError(f"could not create a fresh run folder under {base_path}")
        parent = base_path / stamp
        parent.mkdir(parents=True, exist_ok=True)
        leaf = safe_name(name, fallback="run")
        for i in range(10000):
            path = parent / (leaf if i == 0 else f"{leaf}_{i}")
            try:
                path.mkdir()
                return cls(path)
            except FileExistsError:
                continue
        raise FileExistsError(f"could not create a fresh run folder under {parent}")

    @classmethod
    def at(cls, path: str | Path) -> RunDir:
        """The run folder at ``path`` (created if missing; an existing one is written into)."""
        root = Path(path).expanduser().resolve()
        root.mkdir(parents=True, exist_ok=True)
        return cls(root)

    @property
    def config(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def job(self) -> Path:
        return self.root / JOB_FILE

    @property
    def log(self) -> Path:
        return self.root / LOG_FILE

    @property
    def report_html(self) -> Path:
        return self.root / REPORT_FILE

    @property
    def live(self) -> Path:
        return self.root / LIVE_FILE

    def is_run(self) -> bool:
        """True when the folder holds a finished or interrupted run (an engine wrote its config)."""
        return self.config.is_file()

    def is_job(self) -> bool:
        """True when the folder is a job's (the job manager wrote its ``job.json``), also when the job's
        run never started (it failed or was cancelled before the engine wrote ``config.json``)."""
        return self.job.is_file()

    def __str__(self) -> str:
        return str(self.root)
