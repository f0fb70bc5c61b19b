"""A typed client of ``evalscope service``: :class:`ServiceClient` (blocking) and
:class:`AsyncServiceClient` (asyncio), over the service's job API.

::

    from evalscope.remote import ServiceClient

    with ServiceClient("http://evals.internal:9000", token=None) as svc:   # token: $EVALSCOPE_AUTH_TOKEN
        job = svc.submit_eval({"model": "qwen", "api_url": "http://vllm:8000/v1",
                               "datasets": ["gsm8k"], "limit": 50})
        job = svc.wait(job.id, on_update=lambda j: print(j.state, j.progress.done))
        print(job.result["result"]["gsm8k"]["score"])
        svc.fetch(job.id, "results/")                    # the job's folder: reports, predictions, logs

Routes used: ``POST /api/v1/jobs/{eval,perf}`` (202 at once), ``GET /api/v1/jobs[/{id}]``,
``POST .../cancel``, ``POST .../resume``, ``GET .../events`` (server-sent events: ``event: job`` with the
job at each change, ``event: end``), ``GET .../files[/{path}]``, ``GET /health``.

Waiting survives a service restart: when the event stream breaks or the service cannot be reached
(connection refused while it restarts, 502/503/504 from a proxy or a service still starting), the
client reconnects with a backoff (0.5 s doubling to 5 s) for up to ``reconnect_s`` seconds. The job
record lives in the service's store, so after the restart the stream starts again with the job as it is
now. A job that was *running* when the service stopped comes back ``interrupted`` (the service does not
restart a half-done run by itself): :meth:`ServiceClient.wait` returns it as such, or, with
``resume_interrupted=N``, asks the service to resume it (an evaluation continues from the samples
already saved) up to N times and keeps waiting. A job that was still *queued* runs after the restart
(unless it carried an API key, which the service never stores: then it is ``interrupted`` too).

The bearer token is sent in the ``Authorization`` header only; it is never part of a message, a
``repr`` or an exception.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx

from evalscope.remote.models import FileList, Health, JobList, RemoteJob

if TYPE_CHECKING:
    from evalscope.eval.config import TaskConfig
    from evalscope.perf.arguments import PerfArguments

#: how long a waiting client keeps trying to reach a service that went away (seconds)
DEFAULT_RECONNECT_S = 300.0
#: the event stream sends a heartbeat every 5 s; a read silent this long means the connection is dead
STREAM_READ_TIMEOUT_S = 30.0
BACKOFF_START_S, BACKOFF_MAX_S = 0.5, 5.0
#: answers that mean "the service (or its proxy) is not there right now": retried while waiting
RETRYABLE_STATUS = frozenset({502, 503, 504})


class RemoteError(Exception):
    """Anything that stops a remote call; ``message`` is one line for a terminal."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ServiceUnreachable(RemoteError):
    """The service could not be reached (connection refused, unknown host, timeout)."""


class ServiceError(RemoteError):
    """The service answered an error: ``status``, its ``message``, and ``errors`` (``[{"field",
    "reason"}]``, HTTP field names) for a 400."""

    def __init__(self, status: int, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors or []


class WaitTimeout(RemoteError):
    """The wait's deadline passed; ``job`` is the job as last seen (None if never seen)."""

    def __init__(self, message: str, job: RemoteJob | None) -> None:
        super().__init__(message)
        self.job = job


def resolve_token(token: str | None = None, token_file: str | os.PathLike[str] | None = None) -> str | None:
    """The bearer token: ``token``, else the file's one line, else ``$EVALSCOPE_AUTH_TOKEN`` (or
    ``$EVALSCOPE_SERVICE_TOKEN``): the variables ``evalscope service`` reads, so one variable serves both
    ends. ValueError naming the source when the file is unusable."""
    if token is not None:
        token = token.strip()
        if not token:
            raise ValueError("--token: empty")
        return token
    if token_file is not None:
        try:
            text = Path(token_file).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"--token-file: cannot read {str(token_file)!r} ({exc.strerror})") from None
        if not text or any(c.isspace() for c in text):
            raise ValueError(f"--token-file: {str(token_file)!r} must hold one token on one line")
        return text
    from evalscope.settings import settings

    return settings().secret("auth_token")


def normalize_server(url: str) -> str:
    """``http://host:9000`` (no trailing slash); ValueError naming ``--server`` when it is no URL."""
    url = (url or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--server: {url!r} is not an http(s) URL such as http://127.0.0.1:9000")
    if parts.username or parts.password:
        raise ValueError("--server: put the token in --token-file or $EVALSCOPE_AUTH_TOKEN, not in the URL")
    return url


def _connect_reason(exc: httpx.TransportError) -> str:
    """A short cause: "connection refused", "timed out", or the error's class."""
    text = str(exc).lower()
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    for needle, reason in (
        ("refused", "connection refused"),
        ("name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("temporary failure in name resolution", "unknown host"),
        ("reset by peer", "connection reset"),
    ):
        if needle in text:
            return reason
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the connection closed mid-answer"
    return type(exc).__name__


def _error_of(resp: httpx.Response) -> ServiceError:
    """The service's JSON error (``{"status": "error", "message", "errors"}``) as a ServiceError."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        message = str(body["message"])
        errors = body.get("errors") if isinstance(body.get("errors"), list) else None
    else:
        message = f"HTTP {resp.status_code} {resp.reason_phrase}".strip()
        errors = None
    if resp.status_code == 401:
        message += " (give the service's token: --token-file, or $EVALSCOPE_AUTH_TOKEN)"
    return ServiceError(resp.status_code, message, errors)


#: A config naming a registered endpoint (``endpoint=``) has no model or URL of its own: the service
#: fills them (evalscope/service/named.py). It is validated here with these stand-ins, which are
#: never sent (``.invalid`` is a name that cannot resolve, RFC 2606).
ENDPOINT_MODEL = "<endpoint>"
ENDPOINT_HOST = "endpoint.invalid"
ENDPOINT_URL = f"http://{ENDPOINT_HOST}/v1"


def endpoint_placeholders(kind: str) -> dict[str, str]:
    """The stand-ins for the fields a named endpoint fills (``kind``: eval or perf), to validate a
    config locally before the service fills the real ones; :func:`eval_body` / :func:`perf_body` drop them."""
    return {"model": ENDPOINT_MODEL, "api_url" if kind == "eval" else "url": ENDPOINT_URL}


def _fields(config: Mapping[str, Any], kind: str, endpoint: str | None) -> dict[str, Any]:
    data = dict(config)
    if endpoint is not None:
        for key, value in endpoint_placeholders(kind).items():
            if data.get(key) is None:
                data[key] = value
    return data


def _naming(body: dict[str, Any], kind: str, endpoint: str | None) -> dict[str, Any]:
    """``body`` naming ``endpoint``, without the stand-ins (fields the user gave stay: the service then
    answers a 400 naming the field, as for any body giving a field its endpoint sets)."""
    if endpoint is None:
        return body
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise ValueError("endpoint: must be the name of a registered endpoint")
    url_field = "api_url" if kind == "eval" else "url"
    if body.get("model") == ENDPOINT_MODEL:
        del body["model"]
    url = body.get(url_field)
    if isinstance(url, str) and urlsplit(url).hostname == ENDPOINT_HOST:
        del body[url_field]
    return {"endpoint": endpoint, **body}


def eval_body(config: TaskConfig | Mapping[str, Any], endpoint: str | None = None) -> dict[str, Any]:
    """A ``TaskConfig`` (or its fields) as the JSON body of ``POST /api/v1/jobs/eval``: validated here
    first (a bad field fails before anything is sent), defaults left to the service. ``endpoint``: the
    name of an endpoint registered on the service, which sets the model, URL and key (leave them out)."""
    from evalscope.eval.config import TaskConfig

    if isinstance(config, TaskConfig):
        cfg = config
    else:
        cfg = TaskConfig.model_validate(_fields(config, "eval", endpoint))
    return _naming(cfg.model_dump(mode="json", exclude_defaults=True), "eval", endpoint)


def perf_body(config: PerfArguments | Mapping[str, Any], endpoint: str | None = None) -> dict[str, Any]:
    """A ``PerfArguments`` (or its fields) as the JSON body of ``POST /api/v1/jobs/perf``; ``endpoint``
    as in :func:`eval_body` (it also sets ``api``)."""
    from evalscope.perf.arguments import PerfArguments

    if isinstance(config, PerfArguments):
        args = config
    else:
        args = PerfArguments.model_validate(_fields(config, "perf", endpoint))
    return _naming(args.model_dump(mode="json", exclude_defaults=True), "perf", endpoint)


def _safe_relpath(path: str) -> PurePosixPath:
    """A file path the service listed, refused if it could leave the destination folder."""
    rel = PurePosixPath(path)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise RemoteError(f"the service listed an unsafe file path {path!r}")
    return rel


class _SSE:
    """Server-sent events, one line at a time: ``feed(line)`` returns ``(event, data)`` at a blank line
    that ends an event, ``("", "")`` for a comment (a heartbeat), else None."""

    def __init__(self) -> None:
        self.event = "message"
        self.data: list[str] = []

    def feed(self, line: str) -> tuple[str, str] | None:
        if not line:
            if not self.data:
                self.event = "message"
                return None
            out = (self.event, "\n".join(self.data))
            self.event, self.data = "message", []
            return out
        if line.startswith(":"):
            return ("", "")
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self.event = value
        elif name == "data":
            self.data.append(value)
        return None


class _Follow:
    """The bookkeeping of following one job across reconnects, shared by both clients (they do only
    the I/O): the deadline, how long the service has been gone, the backoff."""

    def __init__(
        self,
        server: str,
        job_id: str,
        timeout: float | None,
        reconnect_s: float,
        on_event: Callable[[str, str], None] | None,
    ) -> None:
        self.server, self.job_id = server, job_id
        self.deadline = time.monotonic() + timeout if timeout is not None else None
        self.timeout, self.reconnect_s = timeout, reconnect_s
        self.on_event = on_event or (lambda kind, text: None)
        self.lost_since: float | None = None
        self.backoff = BACKOFF_START_S
        self.last: RemoteJob | None = None

    def check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            state = self.last.state if self.last else "unknown"
            raise WaitTimeout(
                f"gave up waiting for job {self.job_id} after {self.timeout:g} s (it is {state})", self.last
            )

    def connected(self) -> None:
        if self.lost_since is not None:
            self.on_event("reconnected", f"reached the service at {self.server} again")
        self.lost_since = None

    def job(self, data: str) -> RemoteJob:
        self.backoff = BACKOFF_START_S  # a stream that delivers is healthy
        self.last = RemoteJob.model_validate_json(data)
        return self.last

    def event(self, ev: tuple[str, str] | None) -> tuple[RemoteJob | None, bool]:
        """One stream event: the job it carries (to hand on) and whether following is over (a final
        job, or the stream's end after one)."""
        if ev is None or not ev[0]:
            return None, False
        if ev[0] == "job":
            job = self.job(ev[1])
            return job, job.is_final
        return None, ev[0] == "end" and self.last is not None and self.last.is_final

    def lost(self, reason: str) -> float:
        """Note the service is gone; the seconds to sleep before retrying, or raise once it has been
        gone ``reconnect_s`` (or the wait's deadline passed)."""
        self.check_deadline()
        now = time.monotonic()
        if self.lost_since is None:
            self.lost_since = now
            self.on_event(
                "lost",
                f"lost the service at {self.server} ({reason}); retrying for up to {self.reconnect_s:g} s",
            )
        elif now - self.lost_since > self.reconnect_s:
            raise ServiceUnreachable(
                f"cannot reach the service at {self.server}: {reason} (for {self.reconnect_s:g} s, "
                f"while waiting for job {self.job_id})"
            )
        delay = self.backoff
        if self.deadline is not None:
            delay = max(0.0, min(delay, self.deadline - now))
        self.backoff = min(self.backoff * 2, BACKOFF_MAX_S)
        return delay


def _stream_timeout(follow: _Follow) -> httpx.Timeout:
    read = STREAM_READ_TIMEOUT_S
    if follow.deadline is not None:  # wake up for the deadline even if the stream stays silent
        read = max(0.5, min(read, follow.deadline - time.monotonic() + 0.5))
    return httpx.Timeout(10.0, read=read)


class _Base:
    def __init__(self, server: str, token: str | None, reconnect_s: float) -> None:
        self.server = normalize_server(server)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.reconnect_s = reconnect_s

    def __repr__(self) -> str:  # never the token
        return f"{type(self).__name__}({self.server!r}, token={'***' if self._headers else None})"

    def _unreachable(self, exc: httpx.TransportError) -> ServiceUnreachable:
        return ServiceUnreachable(f"cannot reach the service at {self.server}: {_connect_reason(exc)}")

    @staticmethod
    def _job_path(job_id: str, tail: str = "") -> str:
        return f"/api/v1/jobs/{quote(job_id, safe='')}{tail}"


class AsyncServiceClient(_Base):
    """The asyncio client: ``async with AsyncServiceClient(url) as svc: job = await svc.wait(...)``.

    ``token`` None reads ``$EVALSCOPE_AUTH_TOKEN`` (see :func:`resolve_token`); pass ``token=""`` for
    none at all. ``timeout``: seconds per ordinary call. ``reconnect_s``: how long :meth:`follow` and
    :meth:`wait` keep retrying a service that went away.
    """

    def __init__(
        self,
        server: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        reconnect_s: float = DEFAULT_RECONNECT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(server, resolve_token(token) if token is None else token or None, reconnect_s)
        self._http = httpx.AsyncClient(
            base_url=self.server, headers=self._headers, timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> AsyncServiceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            resp = await self._http.request(method, path, **kw)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        if resp.status_code >= 400:
            raise _error_of(resp)
        return resp

    async def health(self) -> Health:
        """``GET /health`` (a 503 "degraded" answer is returned, not raised)."""
        try:
            resp = await self._http.get("/health")
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        if resp.status_code not in (200, 503):
            raise _error_of(resp)
        return Health.model_validate(resp.json())

    async def submit_eval(
        self, config: TaskConfig | Mapping[str, Any], *, endpoint: str | None = None
    ) -> RemoteJob:
        """Queue an evaluation; returns the job at once (state ``queued``). ``endpoint``: a named
        endpoint of the service gives the model, URL and key (leave them out of ``config``)."""
        resp = await self._call("POST", "/api/v1/jobs/eval", json=eval_body(config, endpoint))
        return RemoteJob.model_validate(resp.json())

    async def submit_perf(
        self, config: PerfArguments | Mapping[str, Any], *, endpoint: str | None = None
    ) -> RemoteJob:
        """Queue a load test; returns the job at once. ``endpoint``: as in :meth:`submit_eval`."""
        resp = await self._call("POST", "/api/v1/jobs/perf", json=perf_body(config, endpoint))
        return RemoteJob.model_validate(resp.json())

    async def get_job(self, job_id: str) -> RemoteJob:
        """One job; ServiceError 404 when the service does not know it."""
        return RemoteJob.model_validate((await self._call("GET", self._job_path(job_id))).json())

    async def list_jobs(
        self, *, state: str | None = None, kind: str | None = None, limit: int = 50, offset: int = 0
    ) -> JobList:
        """Jobs, newest first."""
        params = {k: v for k, v in (("state", state), ("kind", kind)) if v}
        resp = await self._call("GET", "/api/v1/jobs", params={**params, "limit": limit, "offset": offset})
        return JobList.model_validate(resp.json())

    async def cancel(self, job_id: str) -> RemoteJob:
        """Cancel a queued or running job; ServiceError 409 if it is already over."""
        return RemoteJob.model_validate((await self._call("POST", self._job_path(job_id, "/cancel"))).json())

    async def resume(self, job_id: str, secrets: Mapping[str, Any] | None = None) -> RemoteJob:
        """Queue an interrupted, failed or cancelled job again (``secrets``: ``api_key``, ``headers``,
        ``url`` / ``api_url`` again, since the service never stores them)."""
        body = dict(secrets) if secrets else None
        resp = await self._call("POST", self._job_path(job_id, "/resume"), json=body)
        return RemoteJob.model_validate(resp.json())

    async def follow(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_event: Callable[[str, str], None] | None = None,
    ) -> AsyncIterator[RemoteJob]:
        """The job now and at each change until it is final, over the event stream, reconnecting
        across service restarts (see the module's docstring). ``timeout``: overall deadline
        (WaitTimeout); ``on_event(kind, text)``: told when the service is lost and found again."""
        fol = _Follow(self.server, job_id, timeout, self.reconnect_s, on_event)
        while True:
            reason = "the event stream ended early"
            try:
                async with self._http.stream(
                    "GET", self._job_path(job_id, "/events"), timeout=_stream_timeout(fol)
                ) as resp:
                    if resp.status_code in RETRYABLE_STATUS:
                        reason = f"HTTP {resp.status_code}"
                    elif resp.status_code >= 400:
                        await resp.aread()
                        raise _error_of(resp)
                    else:
                        fol.connected()
                        sse = _SSE()
                        async for line in resp.aiter_lines():
                            fol.check_deadline()
                            job, done = fol.event(sse.feed(line))
                            if job is not None:
                                yield job
                            if done:
                                return
            except httpx.TransportError as exc:
                reason = _connect_reason(exc)
            await asyncio.sleep(fol.lost(reason))

    async def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_update: Callable[[RemoteJob], None] | None = None,
        on_event: Callable[[str, str], None] | None = None,
        resume_interrupted: int = 0,
        resume_secrets: Mapping[str, Any] | None = None,
    ) -> RemoteJob:
        """The job once final. ``resume_interrupted``: resume it up to this many times when it comes
        back ``interrupted`` from a service restart (``resume_secrets``: its API key again)."""
        deadline = time.monotonic() + timeout if timeout is not None else None
        resumes = 0
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            last = None
            async for job in self.follow(job_id, timeout=left, on_event=on_event):
                last = job
                if on_update:
                    on_update(job)
            assert last is not None
            if last.state == "interrupted" and resumes < resume_interrupted:
                resumes += 1
                if on_event:
                    on_event("resume", f"job {job_id} was interrupted ({last.error}); resuming it")
                await self.resume(job_id, resume_secrets)
                continue
            return last

    async def files(self, job_id: str) -> FileList:
        """The files of the job's folder (paths relative to it)."""
        return FileList.model_validate((await self._call("GET", self._job_path(job_id, "/files"))).json())

    async def download(self, job_id: str, path: str, dest: str | os.PathLike[str]) -> Path:
        """Save one file of the job's folder to ``dest`` (written atomically)."""
        from evalscope.fsio import atomic_path

        url = self._job_path(job_id, "/files/" + quote(str(_safe_relpath(path))))
        try:
            async with self._http.stream("GET", url) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    raise _error_of(resp)
                with atomic_path(dest) as tmp, open(tmp, "wb") as fh:
                    async for chunk in resp.aiter_bytes():
                        fh.write(chunk)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        return Path(dest)

    async def fetch(
        self, job_id: str, dest_dir: str | os.PathLike[str], paths: list[str] | None = None
    ) -> list[Path]:
        """Download the job's files (all, or those in ``paths``) into ``dest_dir``, keeping their
        relative paths; returns what was written."""
        listing = await self.files(job_id)
        chosen = _choose(listing, paths)
        return [await self.download(job_id, p, Path(dest_dir) / _safe_relpath(p)) for p in chosen]


def _choose(listing: FileList, paths: list[str] | None) -> list[str]:
    have = [f.path for f in listing.files]
    if not paths:
        return have
    missing = [p for p in paths if p not in have]
    if missing:
        raise ServiceError(404, f"not in job {listing.job_id}'s folder: {', '.join(missing)}")
    return list(paths)


class ServiceClient(_Base):
    """The blocking client, same methods as :class:`AsyncServiceClient`:
    ``with ServiceClient(url) as svc: job = svc.wait(svc.submit_eval(cfg).id)``."""

    def __init__(
        self,
        server: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        reconnect_s: float = DEFAULT_RECONNECT_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(server, resolve_token(token) if token is None else token or None, reconnect_s)
        self._http = httpx.Client(
            base_url=self.server, headers=self._headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            resp = self._http.request(method, path, **kw)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        if resp.status_code >= 400:
            raise _error_of(resp)
        return resp

    def health(self) -> Health:
        """``GET /health`` (a 503 "degraded" answer is returned, not raised)."""
        try:
            resp = self._http.get("/health")
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        if resp.status_code not in (200, 503):
            raise _error_of(resp)
        return Health.model_validate(resp.json())

    def submit_eval(
        self, config: TaskConfig | Mapping[str, Any], *, endpoint: str | None = None
    ) -> RemoteJob:
        """Queue an evaluation; returns the job at once (state ``queued``). ``endpoint``: a named
        endpoint of the service gives the model, URL and key (leave them out of ``config``)."""
        return RemoteJob.model_validate(
            self._call("POST", "/api/v1/jobs/eval", json=eval_body(config, endpoint)).json()
        )

    def submit_perf(
        self, config: PerfArguments | Mapping[str, Any], *, endpoint: str | None = None
    ) -> RemoteJob:
        """Queue a load test; returns the job at once. ``endpoint``: as in :meth:`submit_eval`."""
        return RemoteJob.model_validate(
            self._call("POST", "/api/v1/jobs/perf", json=perf_body(config, endpoint)).json()
        )

    def get_job(self, job_id: str) -> RemoteJob:
        """One job; ServiceError 404 when the service does not know it."""
        return RemoteJob.model_validate(self._call("GET", self._job_path(job_id)).json())

    def list_jobs(
        self, *, state: str | None = None, kind: str | None = None, limit: int = 50, offset: int = 0
    ) -> JobList:
        """Jobs, newest first."""
        params = {k: v for k, v in (("state", state), ("kind", kind)) if v}
        resp = self._call("GET", "/api/v1/jobs", params={**params, "limit": limit, "offset": offset})
        return JobList.model_validate(resp.json())

    def cancel(self, job_id: str) -> RemoteJob:
        """Cancel a queued or running job; ServiceError 409 if it is already over."""
        return RemoteJob.model_validate(self._call("POST", self._job_path(job_id, "/cancel")).json())

    def resume(self, job_id: str, secrets: Mapping[str, Any] | None = None) -> RemoteJob:
        """Queue an interrupted, failed or cancelled job again (its secrets again in ``secrets``)."""
        body = dict(secrets) if secrets else None
        return RemoteJob.model_validate(
            self._call("POST", self._job_path(job_id, "/resume"), json=body).json()
        )

    def follow(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_event: Callable[[str, str], None] | None = None,
    ) -> Iterator[RemoteJob]:
        """The job now and at each change until final, reconnecting across restarts (as the async one)."""
        fol = _Follow(self.server, job_id, timeout, self.reconnect_s, on_event)
        while True:
            reason = "the event stream ended early"
            try:
                with self._http.stream(
                    "GET", self._job_path(job_id, "/events"), timeout=_stream_timeout(fol)
                ) as resp:
                    if resp.status_code in RETRYABLE_STATUS:
                        reason = f"HTTP {resp.status_code}"
                    elif resp.status_code >= 400:
                        resp.read()
                        raise _error_of(resp)
                    else:
                        fol.connected()
                        sse = _SSE()
                        for line in resp.iter_lines():
                            fol.check_deadline()
                            job, done = fol.event(sse.feed(line))
                            if job is not None:
                                yield job
                            if done:
                                return
            except httpx.TransportError as exc:
                reason = _connect_reason(exc)
            time.sleep(fol.lost(reason))

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_update: Callable[[RemoteJob], None] | None = None,
        on_event: Callable[[str, str], None] | None = None,
        resume_interrupted: int = 0,
        resume_secrets: Mapping[str, Any] | None = None,
    ) -> RemoteJob:
        """The job once final (see :meth:`AsyncServiceClient.wait`)."""
        deadline = time.monotonic() + timeout if timeout is not None else None
        resumes = 0
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            last = None
            for job in self.follow(job_id, timeout=left, on_event=on_event):
                last = job
                if on_update:
                    on_update(job)
            assert last is not None
            if last.state == "interrupted" and resumes < resume_interrupted:
                resumes += 1
                if on_event:
                    on_event("resume", f"job {job_id} was interrupted ({last.error}); resuming it")
                self.resume(job_id, resume_secrets)
                continue
            return last

    def files(self, job_id: str) -> FileList:
        """The files of the job's folder (paths relative to it)."""
        return FileList.model_validate(self._call("GET", self._job_path(job_id, "/files")).json())

    def download(self, job_id: str, path: str, dest: str | os.PathLike[str]) -> Path:
        """Save one file of the job's folder to ``dest`` (written atomically)."""
        from evalscope.fsio import atomic_path

        url = self._job_path(job_id, "/files/" + quote(str(_safe_relpath(path))))
        try:
            with self._http.stream("GET", url) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    raise _error_of(resp)
                with atomic_path(dest) as tmp, open(tmp, "wb") as fh:
                    for chunk in resp.iter_bytes():
                        fh.write(chunk)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        return Path(dest)

    def fetch(
        self, job_id: str, dest_dir: str | os.PathLike[str], paths: list[str] | None = None
    ) -> list[Path]:
        """Download the job's files (all, or ``paths``) into ``dest_dir``, keeping relative paths."""
        chosen = _choose(self.files(job_id), paths)
        return [self.download(job_id, p, Path(dest_dir) / _safe_relpath(p)) for p in chosen]


__all__ = [
    "DEFAULT_RECONNECT_S",
    "AsyncServiceClient",
    "RemoteError",
    "ServiceClient",
    "ServiceError",
    "ServiceUnreachable",
    "WaitTimeout",
    "eval_body",
    "perf_body",
    "resolve_token",
]
