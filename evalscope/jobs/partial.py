"""Partial reports: a job that stopped midway (cancelled, failed, interrupted) keeps a report of what its
run finished.

A cancelled job's worker is killed before it can write ``report.html``, and a worker that crashed or
was stopped with the service never gets there either; yet the run folder holds what was finished
(eval: ``predictions/*.jsonl``, one line per answered sample; perf: the finished sweep points'
``parallel_<p>_number_<n>/`` folders).  After the worker is gone, the job manager hands such a job to
:class:`PartialReporter`: one thread that runs :func:`write_partial` in a child process (``python -m
evalscope.jobs.partial KIND STATE FOLDER``, bounded by :data:`PARTIAL_TIMEOUT_S`, killed past it), so a
slow or failing report never holds up or breaks the service.  The report is the normal one (the
engines' own report code: :func:`evalscope.eval.runner.report_partial`, the perf points as written),
opening with the banner "partial: cancelled after N of M samples"; the model is never asked anything.

The job's headline (``JobSummary.partial_report``) says where it stands: ``writing`` from the moment the
job ends, then ``written`` (banner text and path) or ``none`` (the reason); a job that stopped with
nothing in its folder is ``none`` at once.  A cancelled job without a result gets the partial run's
result, so its headline shows the scores or best point so far.

With the Celery executor the service holds no run folder: the worker that ran the job writes the
report itself (:func:`write_partial_bounded`, the same child process), stores the headline, and in
upload mode sends the folder while the headline says ``writing`` (:func:`files_expected`).
"""

from __future__ import annotations

import json
import logging
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from evalscope.jobs.models import Job, JobState
from evalscope.jobs.store import JobStore
from evalscope.jobs.summary import PartialReport, summarize
from evalscope.rundir import CONFIG_FILE, LIVE_FILE, REPORT_FILE, RunDir

log = logging.getLogger("evalscope.jobs")

#: the longest a partial report may take (reading the run and rendering); the child is killed past it
PARTIAL_TIMEOUT_S = 120.0
#: the kinds with a report
KINDS = ("eval", "perf")
#: states whose run stopped midway
STOPPED = (JobState.cancelled, JobState.failed, JobState.interrupted)


class PartialOutcome(BaseModel):
    """What :func:`write_partial` did: the report's banner text, or why there is none, and the
    partial run's result (``EvalRun`` / ``PerfRun`` JSON)."""

    written: bool
    text: str | None = None
    reason: str | None = None
    result: dict[str, Any] | None = None


def _finished_anything(kind: str, root: Path) -> bool:
    """Whether the run folder holds a finished sample (eval) or sweep point (perf); cheap."""
    if kind == "eval":
        folder = root / "predictions"
        return folder.is_dir() and any(p.stat().st_size > 0 for p in folder.glob("*/*.jsonl"))
    from evalscope.perf.output import point_dirs

    return root.is_dir() and bool(point_dirs(root))


def _report_of_this_attempt(job: Job) -> bool:
    """report.html written by the job's last attempt (a run that failed after writing its own)."""
    path = Path(job.output_dir) / REPORT_FILE
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return False
    return job.started_at is not None and mtime >= job.started_at.timestamp()


def initial(job: Job) -> PartialReport | None:
    """The partial-report status of a job that just stopped in ``job.state``: ``writing`` when its
    folder holds something finished and no report of this attempt, ``none`` (with the reason) when it
    holds nothing; None for a job that needs none (a succeeded job, a kind without reports, a run
    that wrote its own report before it failed)."""
    if job.kind not in KINDS or job.state not in STOPPED:
        return None
    root = Path(job.output_dir)
    if _report_of_this_attempt(job):
        return None
    if not (root / CONFIG_FILE).is_file() or not _finished_anything(job.kind, root):
        what = "sample" if job.kind == "eval" else "sweep point"
        when = "at load time, before" if not (root / CONFIG_FILE).is_file() else "before"
        return PartialReport(
            status="none", reason=f"the job {job.state.value} {when} its run finished a {what}"
        )
    return PartialReport(status="writing")


def headline(
    job: Job, state: JobState, result: dict[str, Any] | None, partial: PartialReport
) -> dict[str, Any]:
    """The stored headline of ``job`` ending in ``state`` with its partial-report status."""
    summary = summarize(job.kind, state.value, job.config, result)
    summary.partial_report = partial
    return summary.model_dump(mode="json")


# -- the child process --------------------------------------------------------------------------
def _planned_points(config: dict[str, Any], root: Path) -> int | None:
    """How many sweep points the run was to measure (None: an SLO search decides as it goes)."""
    if config.get("search"):
        return None
    try:
        from evalscope.perf.arguments import PerfArguments

        return len(PerfArguments.model_validate(config).pairs)
    except Exception:  # noqa: BLE001 - e.g. a dataset file gone since: the live view knows too
        pass
    try:
        live = json.loads((root / LIVE_FILE).read_text(encoding="utf-8"))
        of = live.get("point", {}).get("of")
        return int(of) if isinstance(of, int) else None
    except (OSError, ValueError, AttributeError):
        return None


def write_partial(kind: str, state: str, folder: str | Path) -> PartialOutcome:
    """Write the partial report of the run in ``folder`` that stopped in ``state`` (never asks the model).

    eval: the benchmark reports from the answers on disk (:func:`evalscope.eval.runner.report_partial`),
    then report.html; perf: report.html of the finished sweep points.  Raises nothing: a run with
    nothing to report, or a report that fails, gives ``written=False`` with the reason.
    """
    from evalscope.report import try_write_report

    root = Path(folder)
    try:
        config = json.loads((root / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return PartialOutcome(written=False, reason=f"the run wrote no readable {CONFIG_FILE} ({exc})")
    try:
        if kind == "eval":
            from evalscope.eval.config import TaskConfig
            from evalscope.eval.runner import report_partial

            part = report_partial(TaskConfig.model_validate(config), root)
            text = f"{state} after {part.done} of {part.total} samples"
            result = part.run.to_json()
        elif kind == "perf":
            from evalscope.perf.output import read_perf_run

            run = read_perf_run(root)
            planned = _planned_points(config, root)
            n = len(run.results)
            of = f" of {planned}" if planned is not None else ""
            text = f"{state} after {n}{of} sweep point{'s' if (planned or n) != 1 else ''}"
            result = run.as_json()
        else:
            return PartialOutcome(written=False, reason=f"a {kind} job has no report")
    except Exception as exc:  # noqa: BLE001 - nothing finished, an unreadable file: said, not raised
        log.warning("partial report of %s: %s", root, exc)
        return PartialOutcome(written=False, reason=f"nothing to report: {exc}")
    if try_write_report(root, plotly="service", partial=text) is None:
        return PartialOutcome(written=False, reason="report.html could not be written (see logs/run.log)")
    return PartialOutcome(written=True, text=text, result=result)


def _main(argv: list[str]) -> int:
    """``python -m evalscope.jobs.partial KIND STATE FOLDER``: the outcome as one JSON line on stdout;
    the run's lines are appended to its ``logs/run.log``."""
    kind, state, folder = argv
    log_path = RunDir(Path(folder)).log
    if log_path.parent.is_dir():
        handler = logging.FileHandler(log_path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        root_logger = logging.getLogger()
        root_logger.addHandler(handler)
        root_logger.setLevel(logging.INFO)
    logging.getLogger("evalscope.jobs").info("writing the partial report (the job %s)", state)
    outcome = write_partial(kind, state, folder)
    sys.stdout.write(outcome.model_dump_json() + "\n")
    return 0


# -- running the child ---------------------------------------------------------------------------
def spawn_partial(kind: str, state: str, folder: str | Path) -> subprocess.Popen[str]:
    """Start ``python -m evalscope.jobs.partial KIND STATE FOLDER`` (read it with :func:`collect_partial`)."""
    cmd = [sys.executable, "-m", "evalscope.jobs.partial", kind, state, str(folder)]
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )


def collect_partial(child: subprocess.Popen[str], timeout_s: float = PARTIAL_TIMEOUT_S) -> PartialOutcome:
    """The outcome of a child started by :func:`spawn_partial`; killed past ``timeout_s``; never raises."""
    try:
        out, err = child.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        return PartialOutcome(written=False, reason=f"writing it took longer than {timeout_s:g} s")
    lines = out.strip().splitlines()
    try:
        return PartialOutcome.model_validate_json(lines[-1])
    except (IndexError, ValueError):
        tail = err.strip().splitlines()[-1:] or [f"exit code {child.returncode}"]
        return PartialOutcome(written=False, reason=f"the report process failed: {tail[0][:300]}")


def write_partial_bounded(
    kind: str, state: str, folder: str | Path, timeout_s: float = PARTIAL_TIMEOUT_S
) -> PartialOutcome:
    """:func:`write_partial` in a child process bounded by ``timeout_s`` (a Celery worker's way: it
    writes the partial report of a job it ran, in the folder it holds)."""
    try:
        child = spawn_partial(kind, state, folder)
    except OSError as exc:
        return PartialOutcome(written=False, reason=f"cannot start the report process: {exc}")
    return collect_partial(child, timeout_s)


def files_expected(job: Job) -> bool:
    """Whether a job's folder may still arrive from its worker: it runs, or it stopped and its worker is
    writing its partial report (Celery upload mode sends the folder after writing it)."""
    if job.state == JobState.running:
        return True
    partial = (job.summary or {}).get("partial_report") or {}
    return job.state in STOPPED and partial.get("status") == "writing"


# -- the service side ---------------------------------------------------------------------------
class PartialReporter:
    """One thread writing partial reports one job at a time, each in a child process bounded by
    ``timeout_s``; the outcome goes into the job's stored headline (and result, when it had none)
    and ``notify(job)`` is called.  Failures are logged, never raised."""

    def __init__(
        self, store: JobStore, notify: Callable[[Job], None], timeout_s: float = PARTIAL_TIMEOUT_S
    ) -> None:
        self.store = store
        self.notify = notify
        self.timeout_s = timeout_s
        self._queue: queue.Queue[tuple[str, JobState] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._child: subprocess.Popen[str] | None = None
        self._child_job: str | None = None
        self._dropped: set[str] = set()
        self._stopping = False

    def schedule(self, job_id: str, state: JobState) -> None:
        """Write the partial report of ``job_id`` (which stopped in ``state``) in the background."""
        with self._lock:
            if self._stopping:
                return
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="evalscope-partial", daemon=True)
                self._thread.start()
        with self._lock:
            self._dropped.discard(job_id)
        self._queue.put((job_id, state))

    def drop(self, job_id: str) -> None:
        """The job runs again (resumed): its partial report is not written, or stopped (the new run
        writes every report file again, atomically, so a stopped one leaves nothing half-written)."""
        with self._lock:
            self._dropped.add(job_id)
            child = self._child if self._child_job == job_id else None
        if child is not None and child.poll() is None:
            child.kill()

    def stop(self) -> None:
        """Stop the thread; a report being written is abandoned (its child killed)."""
        with self._lock:
            self._stopping = True
            child = self._child
        self._queue.put(None)
        if child is not None and child.poll() is None:
            child.kill()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None or self._stopping:
                return
            try:
                self._one(*item)
            except Exception:  # noqa: BLE001 - one job's report must not stop the others
                log.exception("job %s: partial report failed", item[0])

    def _run_child(self, job: Job, state: JobState) -> PartialOutcome:
        with self._lock:
            if self._stopping or job.id in self._dropped:
                return PartialOutcome(written=False, reason="the job runs again")
            child = spawn_partial(job.kind, state.value, job.output_dir)
            self._child, self._child_job = child, job.id
        try:
            return collect_partial(child, self.timeout_s)
        finally:
            with self._lock:
                self._child, self._child_job = None, None

    def _one(self, job_id: str, state: JobState) -> None:
        job = self.store.get(job_id)
        if job is None or job.state != state:
            return  # resumed (or deleted) meanwhile: its next end decides again
        outcome = self._run_child(job, state)
        if outcome.written:
            partial = PartialReport(status="written", text=outcome.text, path=REPORT_FILE)
            log.info("job %s: partial report written (%s)", job_id, outcome.text)
        else:
            partial = PartialReport(status="none", reason=outcome.reason)
            log.warning("job %s: no partial report: %s", job_id, outcome.reason)
        result = job.result if job.result is not None else outcome.result
        fields: dict[str, Any] = {"summary": headline(job, state, result, partial)}
        if job.result is None and outcome.result is not None:
            fields["result"] = outcome.result
        updated = self.store.transition(job_id, [state], **fields)
        if updated is not None:
            self.notify(updated)


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
