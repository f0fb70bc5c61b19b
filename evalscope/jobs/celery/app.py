"""The Celery application shared by the service (which only sends) and ``evalscope worker``.

Delivery choices (see docs/deploy.md): ``acks_late`` with a prefetch of one, so a message is
removed from Redis only after its job ended, and a worker that dies loses no queued job; a job
starts only through the store's conditional ``queued -> running`` update, so a message delivered
twice (Redis re-delivers unacknowledged messages after ``visibility_timeout``) never runs a job
twice; a running job's liveness is its heartbeat in the store, not the broker.
"""

from __future__ import annotations

from typing import Any

TASK_RUN = "evalscope.run_job"
TASK_SHARD = "evalscope.perf_shard"
DEFAULT_QUEUE = "evalscope"
#: Redis re-delivers an unacknowledged message after this long; it must exceed the longest job,
#: although a re-delivered message of a job that already started is simply dropped.
VISIBILITY_TIMEOUT_S = 6 * 3600


def make_celery(
    broker_url: str, *, queue: str = DEFAULT_QUEUE, visibility_timeout: float = VISIBILITY_TIMEOUT_S
) -> Any:
    """A Celery app talking to ``broker_url`` (``redis://host:6379/0``); results live in the job store."""
    from celery import Celery

    app = Celery("evalscope", broker=broker_url, backend=None, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=False,
        worker_prefetch_multiplier=1,
        task_default_queue=queue,
        task_ignore_result=True,
        broker_transport_options={"visibility_timeout": visibility_timeout},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        broker_heartbeat=0,
    )
    return app
