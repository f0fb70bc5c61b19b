"""The eval engine's files in a run folder (:class:`evalscope.rundir.RunDir`): the append-only
predictions files and where each file lives.

```
<run folder>/                             # CLI: <work_dir>/<YYYYMMDD_HHMMSS>_<shortid>/; a job: its folder
  config.json                             # the effective config, API key redacted
  logs/run.log
  predictions/<model>/<benchmark>.jsonl   # one line per finished sample (scores inside)
  reports/<model>/<benchmark>.json
  report.html                             # written by the entry module (evalscope.eval.api)
```
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalscope.fsio import LineAppender, atomic_open, safe_name
from evalscope.rundir import RunDir

if TYPE_CHECKING:
    from evalscope.eval.results import SampleResult

__all__ = ["PredictionWriter", "RunLayout", "iter_predictions", "read_predictions"]


class RunLayout:
    """Paths inside one run folder for one model."""

    def __init__(self, run_dir: RunDir, model: str) -> None:
        self.run_dir = run_dir
        self.root = run_dir.root
        self.model_dir = safe_name(model)

    @property
    def config(self) -> Path:
        return self.run_dir.config

    @property
    def log(self) -> Path:
        return self.run_dir.log

    def predictions(self, benchmark: str) -> Path:
        return self.root / "predictions" / self.model_dir / f"{safe_name(benchmark)}.jsonl"

    def report(self, benchmark: str) -> Path:
        return self.root / "reports" / self.model_dir / f"{safe_name(benchmark)}.json"


def iter_predictions(path: Path) -> Iterator[tuple[tuple[str, int], dict[str, Any]]]:
    """The file's lines (raw JSON objects) one at a time with their key (sample id, repeat index; 0
    when the line has none), in file order; a torn line (crash mid-write) or one that is not a JSON
    object with an ``id`` is skipped. Nothing but the current line is held in memory."""
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and "id" in rec:
                repeat = rec.get("repeat")
                yield (str(rec["id"]), repeat if isinstance(repeat, int) else 0), rec


def read_predictions(path: Path) -> dict[tuple[str, int], dict[str, Any]]:
    """Lines (raw JSON objects) by (sample id, repeat index; 0 when the line has none), the last line
    for a key winning; a torn last line (crash mid-write) is skipped.
    :func:`evalscope.eval.results.read_samples` types them."""
    return dict(iter_predictions(path))


class PredictionWriter:
    """Appends one JSON line per finished sample and flushes it at once, so a crash loses at most the
    samples still in flight. Lines are whole or absent: a write that fails (a full disk) is cut
    back to the last complete line (:class:`evalscope.fsio.LineAppender`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = LineAppender(path)

    def write(self, sample: SampleResult | Mapping[str, Any]) -> None:
        """Append one sample (a :class:`SampleResult`, or a JSON object as it is)."""
        self._fh.write_line(_line(sample))

    def close(self) -> None:
        self._fh.close()

    def compact(self, samples: list[SampleResult]) -> None:
        """Replace the file with exactly ``samples`` (one line per sample, in order), atomically."""
        self.close()
        # Line by line into the temporary file: a run's whole file is never one string in memory.
        with atomic_open(self.path) as fh:
            for sample in samples:
                fh.write(_line(sample))
                fh.write("\n")


def _line(sample: SampleResult | Mapping[str, Any]) -> str:
    if isinstance(sample, Mapping):
        return json.dumps(dict(sample), ensure_ascii=False)
    return sample.to_json()
