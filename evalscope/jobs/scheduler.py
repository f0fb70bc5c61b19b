"""The one scheduler: which waiting job goes to a worker next.

The job manager keeps every queued job here and hands one to its executor only when

* a worker slot is free (``capacity``: the local pool's size; unbounded with Celery, whose workers
  queue what they are sent),
* its user runs fewer than ``per_user`` jobs (when set),
* its model server is free for it (``isolation``): a load test (perf) never runs beside another
  load test of the same model server (normalized base URL + model,
  :func:`evalscope.client.urls.model_server`), and with ``perf_and_eval`` an evaluation waits
  while its server is under a load test.

Among the jobs that may start, users take turns: the user served longest ago goes first (a user
never served before first of all), and each user's own jobs start oldest first. So one user's fifty
queued jobs delay another user's single job by at most one job per free slot, not fifty.

Each job's wait is recorded as it happens: what it waited for (a free worker, its user's limit, a
load test on its server, with that job's id) and for how long; the manager stores the list on the job
(``Job.waits``) when the job is handed to a worker, and shows it live while the job waits.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from evalscope.client.urls import model_server
from evalscope.jobs.executor import Dispatch

Isolation = Literal["perf_and_eval", "perf", "off"]
#: job kinds that load-test a model server, and kinds that evaluate one
LOAD_KINDS = frozenset({"perf", "perf_distributed"})
EVAL_KINDS = frozenset({"eval"})


def server_of(kind: str, config: dict[str, Any]) -> str | None:
    """The model server a job of ``kind`` aims at (see :func:`model_server`), or None for kinds that
    aim at none."""
    if kind in LOAD_KINDS:
        url = config.get("url")
    elif kind in EVAL_KINDS:
        url = config.get("api_url")
    else:
        return None
    if not isinstance(url, str) or not url:
        return None
    return model_server(url, str(config.get("model") or ""))


def _shown(server: str) -> str:
    url, _, model = server.partition("#")
    return f"{url} (model {model})"


@dataclass
class _Waiting:
    dispatch: Dispatch
    owner: str
    kind: str
    server: str | None
    seq: int
    # the reason it is waiting now, since when (monotonic); closed segments in ``waits``
    reason: tuple[str, str, str | None] | None = None
    since: float = 0.0
    waits: list[dict[str, Any]] = field(default_factory=list)

    def close(self, now: float) -> None:
        if self.reason is None:
            return
        key, text, job_id = self.reason
        seconds = max(0.0, now - self.since)
        for entry in self.waits:
            if (entry["reason"], entry["what"], entry["job_id"]) == (key, text, job_id):
                entry["seconds"] += seconds
                break
        else:
            self.waits.append({"reason": key, "what": text, "job_id": job_id, "seconds": seconds})
        self.reason = None

    def report(self, now: float) -> list[dict[str, Any]]:
        """The waits so far, the current one included, seconds rounded to milliseconds."""
        out = [dict(e) for e in self.waits]
        if self.reason is not None:
            key, text, job_id = self.reason
            seconds = max(0.0, now - self.since)
            for e in out:
                if (e["reason"], e["what"], e["job_id"]) == (key, text, job_id):
                    e["seconds"] += seconds
                    break
            else:
                out.append({"reason": key, "what": text, "job_id": job_id, "seconds": seconds})
        for e in out:
            e["seconds"] = round(e["seconds"], 3)
        return out


@dataclass
class _Running:
    owner: str
    kind: str
    server: str | None


class Scheduler:
    """Fair turns between users, per-user limits and model-server isolation (see the module doc).

    Thread-safe; :meth:`pick` returns the dispatches to hand to the executor now."""

    def __init__(
        self, capacity: int | None = None, per_user: int | None = None, isolation: Isolation = "perf_and_eval"
    ) -> None:
        self.capacity = capacity
        self.per_user = per_user
        self.isolation = isolation
        self._lock = threading.Lock()
        self._waiting: dict[str, _Waiting] = {}
        self._running: dict[str, _Running] = {}
        self._seq = itertools.count()
        self._turn = itertools.count(1)
        self._served: dict[str, int] = {}  # owner -> turn of its last start

    # -- changes --------------------------------------------------------------------------------
    def add(self, dispatch: Dispatch, owner: str | None, server: str | None) -> None:
        """A job waits for its turn."""
        with self._lock:
            self._waiting[dispatch.job_id] = _Waiting(
                dispatch, owner or "", dispatch.kind, server, next(self._seq)
            )

    def occupy(self, job_id: str, owner: str | None, kind: str, server: str | None) -> None:
        """A job already running somewhere (found running after a restart with a durable executor)."""
        with self._lock:
            self._running[job_id] = _Running(owner or "", kind, server)

    def remove(self, job_id: str) -> bool:
        """Drop a waiting job (cancelled); False when it was not waiting."""
        with self._lock:
            return self._waiting.pop(job_id, None) is not None

    def release(self, job_id: str) -> bool:
        """A running job ended; False when it was not running here."""
        with self._lock:
            return self._running.pop(job_id, None) is not None

    def waits_of(self, job_id: str) -> list[dict[str, Any]] | None:
        """The live wait record of a waiting job, or None when it is not waiting."""
        with self._lock:
            w = self._waiting.get(job_id)
            return None if w is None else w.report(time.monotonic())

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {"waiting": len(self._waiting), "running": len(self._running)}

    # -- the decision -----------------------------------------------------------------------------
    def pick(self) -> list[tuple[Dispatch, list[dict[str, Any]]]]:
        """The jobs that start now, in order, each with its finished wait record; every job left
        waiting gets its current reason."""
        now = time.monotonic()
        started: list[tuple[Dispatch, list[dict[str, Any]]]] = []
        with self._lock:
            while self.capacity is None or len(self._running) < self.capacity:
                choice = self._choose()
                if choice is None:
                    break
                del self._waiting[choice.dispatch.job_id]
                self._running[choice.dispatch.job_id] = _Running(choice.owner, choice.kind, choice.server)
                self._served[choice.owner] = next(self._turn)
                choice.close(now)
                started.append((choice.dispatch, choice.report(now)))
            for w in self._waiting.values():
                reason = self._blocker(w) or self._capacity_reason()
                if reason != w.reason:
                    w.close(now)
                    w.reason, w.since = reason, now
        return started

    def _choose(self) -> _Waiting | None:
        """The next job to start: among users with a job allowed to start, the one served longest
        ago (then the one whose job waited longest); that user's oldest allowed job."""
        best: dict[str, _Waiting] = {}
        for w in sorted(self._waiting.values(), key=lambda w: w.seq):
            if w.owner not in best and self._blocker(w) is None:
                best[w.owner] = w
        if not best:
            return None
        return min(best.values(), key=lambda w: (self._served.get(w.owner, 0), w.seq))

    def _blocker(self, w: _Waiting) -> tuple[str, str, str | None] | None:
        """Why ``w`` may not start now (other than a full pool), or None."""
        if w.server is not None and self.isolation != "off":
            guarded = w.kind in LOAD_KINDS or (w.kind in EVAL_KINDS and self.isolation == "perf_and_eval")
            if guarded:
                for job_id, r in self._running.items():
                    if r.server == w.server and r.kind in LOAD_KINDS:
                        return ("endpoint", f"load test {job_id} on {_shown(w.server)}", job_id)
        if self.per_user is not None:
            mine = sum(1 for r in self._running.values() if r.owner == w.owner)
            if mine >= self.per_user:
                who = w.owner or "anonymous"
                return ("user_limit", f"{who}'s running jobs to drop below {self.per_user}", None)
        return None

    def _capacity_reason(self) -> tuple[str, str, str | None]:
        return ("worker", f"a free worker (all {self.capacity} busy)", None)
