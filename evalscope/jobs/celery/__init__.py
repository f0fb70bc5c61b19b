"""The Celery executor: jobs queued in Redis, run by ``evalscope worker`` processes anywhere,
with their state in the shared job store (PostgreSQL).  Needs ``pip install 'evalscope[celery]'``.
"""

from evalscope.jobs.celery.app import DEFAULT_QUEUE, TASK_RUN, TASK_SHARD, make_celery
from evalscope.jobs.celery.executor import DISTRIBUTED_PERF_KIND, CeleryExecutor
from evalscope.jobs.celery.files import FilesConfig
from evalscope.jobs.kinds import JobKind

#: The distributed perf kind as the manager sees it (the service registers it with this executor);
#: the executor sends shard messages instead of running its target.
DISTRIBUTED_PERF = JobKind(DISTRIBUTED_PERF_KIND, "evalscope.jobs.celery.distperf:shard_job")

__all__ = [
    "DEFAULT_QUEUE",
    "DISTRIBUTED_PERF",
    "DISTRIBUTED_PERF_KIND",
    "TASK_RUN",
    "TASK_SHARD",
    "CeleryExecutor",
    "FilesConfig",
    "make_celery",
]
