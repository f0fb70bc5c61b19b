"""Jobs: the job model, the SQLAlchemy store, executors and the manager tying them together.

The service builds on :class:`JobManager`; nothing here imports FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalscope._lazy import lazy_exports

if TYPE_CHECKING:
    from evalscope.jobs.executor import Dispatch, ExecEvent, Executor
    from evalscope.jobs.kinds import BUILTIN_KINDS, JobContext, JobKind, all_kinds, register_kind
    from evalscope.jobs.manager import JobConflict, JobManager, UnknownKind
    from evalscope.jobs.models import ACTIVE_STATES, FINAL_STATES, RESUMABLE_STATES, Job, JobFile, JobState
    from evalscope.jobs.paths import PathOutsideBase, confined_file, new_job_dir, resolve_under
    from evalscope.jobs.pool import LocalProcessExecutor
    from evalscope.jobs.store import JobStore

__all__ = [
    "ACTIVE_STATES",
    "BUILTIN_KINDS",
    "FINAL_STATES",
    "RESUMABLE_STATES",
    "Dispatch",
    "ExecEvent",
    "Executor",
    "Job",
    "JobConflict",
    "JobContext",
    "JobFile",
    "JobKind",
    "JobManager",
    "JobState",
    "JobStore",
    "LocalProcessExecutor",
    "PathOutsideBase",
    "UnknownKind",
    "all_kinds",
    "confined_file",
    "new_job_dir",
    "register_kind",
    "resolve_under",
]
__getattr__ = lazy_exports(
    __name__,
    {
        **dict.fromkeys(("Dispatch", "ExecEvent", "Executor"), "evalscope.jobs.executor"),
        **dict.fromkeys(
            ("BUILTIN_KINDS", "JobContext", "JobKind", "all_kinds", "register_kind"), "evalscope.jobs.kinds"
        ),
        **dict.fromkeys(("JobConflict", "JobManager", "UnknownKind"), "evalscope.jobs.manager"),
        **dict.fromkeys(
            ("ACTIVE_STATES", "FINAL_STATES", "RESUMABLE_STATES", "Job", "JobFile", "JobState"),
            "evalscope.jobs.models",
        ),
        **dict.fromkeys(
            ("PathOutsideBase", "confined_file", "new_job_dir", "resolve_under"), "evalscope.jobs.paths"
        ),
        **dict.fromkeys(("LocalProcessExecutor",), "evalscope.jobs.pool"),
        **dict.fromkeys(("JobStore",), "evalscope.jobs.store"),
    },
)
