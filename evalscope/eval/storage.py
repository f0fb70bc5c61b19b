"""The output folder of an eval run: layout, atomic writes, the append-only predictions files.

```
<work_dir>/<YYYYMMDD_HHMMSS>_<shortid>/
  config.json                             # the effective config, API key redacted
  logs/run.log
  predictions/<model>/<benchmark>.jsonl   # one line per finished sample (scores inside)
  reports/<model>/<benchmark>.json
```
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

from evalscope.fsio import LineAppender, atomic_write_json, atomic_write_text, safe_name

__all__ = ["PredictionWriter", "RunLayout", "atomic_write_json", "new_run_dir", "read_predictions", "safe_name"]


def new_run_dir(work_dir: str | Path) -> Path:
    """Create ``<work_dir>/<YYYYMMDD_HHMMSS>_<shortid>``; the random id makes collisions impossible
    in practice and ``exist_ok=False`` makes them an error instead of a shared folder."""
    base = Path(work_dir).expanduser().resolve()
    base.mkdir(parents=True, exist_ok=True)
    for _ in range(20):
        path = base / f"{time.strftime('%Y%m%d_%H%M%S')}_{secrets.token_hex(3)}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a fresh run folder under {base}")


class RunLayout:
    """Paths inside one run folder."""

    def __init__(self, root: Path, model: str) -> None:
        self.root = root
        self.model_dir = safe_name(model)

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def log(self) -> Path:
        return self.root / "logs" / "run.log"

    def predictions(self, benchmark: str) -> Path:
        return self.root / "predictions" / self.model_dir / f"{safe_name(benchmark)}.jsonl"

    def report(self, benchmark: str) -> Path:
        return self.root / "reports" / self.model_dir / f"{safe_name(benchmark)}.json"


def read_predictions(path: Path) -> dict[str, dict[str, Any]]:
    """Records by sample id, the last line for an id winning; a torn last line (crash mid-write) is
    skipped."""
    out: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return out
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and "id" in rec:
                out[rec["id"]] = rec
    return out


class PredictionWriter:
    """Appends one JSON line per finished sample and flushes it at once, so a crash loses at most the
    samples still in flight. Lines are whole or absent: a write that fails (a full disk) is cut
    back to the last complete line (:class:`evalscope.fsio.LineAppender`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = LineAppender(path)

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write_line(json.dumps(record, ensure_ascii=False))

    def close(self) -> None:
        self._fh.close()

    def compact(self, records: list[dict[str, Any]]) -> None:
        """Replace the file with exactly ``records`` (one line per sample, in order), atomically."""
        self.close()
        atomic_write_text(self.path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
