"""The remote client of ``evalscope service``: a typed Python API and ``evalscope remote ...``.

``from evalscope.remote import ServiceClient`` (blocking) or ``AsyncServiceClient`` (asyncio): submit
evaluations and load tests, follow them over the event stream (surviving a service restart), list,
show, cancel and resume jobs, download their files. See ``evalscope/remote/client.py`` and
docs/service.md ("Remote client").
"""

from __future__ import annotations

from evalscope.remote.client import (
    DEFAULT_RECONNECT_S,
    AsyncServiceClient,
    RemoteError,
    ServiceClient,
    ServiceError,
    ServiceUnreachable,
    WaitTimeout,
    eval_body,
    perf_body,
    resolve_token,
)
from evalscope.remote.models import FINAL_STATES, FileList, Health, JobList, Progress, RemoteFile, RemoteJob

__all__ = [
    "DEFAULT_RECONNECT_S",
    "FINAL_STATES",
    "AsyncServiceClient",
    "FileList",
    "Health",
    "JobList",
    "Progress",
    "RemoteError",
    "RemoteFile",
    "RemoteJob",
    "ServiceClient",
    "ServiceError",
    "ServiceUnreachable",
    "WaitTimeout",
    "eval_body",
    "perf_body",
    "resolve_token",
]
