"""``ModelClient``: the retrying async client that eval (and anyone else) uses to call a model."""

from __future__ import annotations

import asyncio
import random
import time

import aiohttp

from evalscope.client.adapters import make_adapter
from evalscope.client.errors import (
    ApiError,
    StreamError,
    classify_exception,
    error_message,
    is_retryable_status,
    parse_retry_after,
)
from evalscope.client.jsonfast import dumps, loads
from evalscope.client.stream import StreamAccumulator
from evalscope.client.types import Completion, GenerationRequest, Usage

#: aiohttp reads 64 KiB at a time by default, which throttles long streamed answers
READ_BUFSIZE = 1 << 20


class _Retry(Exception):
    def __init__(self, status: int | None, reason: str, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.status, self.reason, self.message, self.retry_after = status, reason, message, retry_after


class ModelClient:
    """Async client for one model endpoint; use as ``async with ModelClient(...) as client``.

    ``generate`` retries 429, 5xx, timeouts, connection errors and broken streams with exponential
    backoff and jitter (a server's ``Retry-After`` wins), at most ``max_retries`` times, then
    raises :class:`ApiError`. Other 4xx answers raise at once. ``concurrency`` bounds the number of
    requests in flight from this client.
    """

    def __init__(
        self,
        api: str = "openai",
        url: str = "",
        api_key: str | None = "EMPTY",
        model: str = "",
        timeout: float | None = 60.0,
        max_retries: int = 3,
        concurrency: int = 32,
        headers: dict[str, str] | None = None,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
    ) -> None:
        if not url:
            raise ValueError("url: required")
        self.api = api
        self.url = url
        self.model = model
        self.timeout = timeout
        self.max_retries = max(0, int(max_retries))
        self.concurrency = max(1, int(concurrency))
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._adapter = make_adapter(api, url, model, api_key, headers)
        self._session: aiohttp.ClientSession | None = None
        self._sem: asyncio.Semaphore | None = None

    def __repr__(self) -> str:
        return (
            f"ModelClient(api={self.api!r}, url={self.url!r}, model={self.model!r}, api_key='***', "
            f"timeout={self.timeout}, max_retries={self.max_retries}, concurrency={self.concurrency})"
        )

    async def __aenter__(self) -> ModelClient:
        self._open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _open(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.concurrency, limit_per_host=0, force_close=False)
            self._session = aiohttp.ClientSession(
                connector=connector,
                read_bufsize=READ_BUFSIZE,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
            self._sem = asyncio.Semaphore(self.concurrency)

    async def close(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def endpoint(self, stream: bool = True) -> str:
        """The URL this client posts to."""
        return self._adapter.endpoint(stream)

    async def generate(self, req: GenerationRequest) -> Completion:
        """Send ``req`` (retrying transient failures) and return the completed generation."""
        self._open()
        assert self._sem is not None
        attempt = 0
        while True:
            try:
                async with self._sem:
                    completion = await self._once(req)
                completion.attempts = attempt + 1
                return completion
            except _Retry as err:
                if attempt >= self.max_retries:
                    raise ApiError(err.status, err.reason, err.message) from None
                delay = self._backoff(attempt, err.retry_after)
                attempt += 1
                await asyncio.sleep(delay)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.backoff_max)
        ceiling = min(self.backoff_max, self.backoff_base * (2**attempt))
        # "equal jitter": never less than half the step, so retries do stay spaced out
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    async def _once(self, req: GenerationRequest) -> Completion:
        adapter = self._adapter
        session = self._session
        assert session is not None
        url = adapter.endpoint(req.stream)
        payload = dumps(adapter.body(req))
        start = time.perf_counter()
        try:
            async with session.post(url, data=payload, headers=adapter.headers(req.stream)) as resp:
                if resp.status != 200:
                    body = await resp.read()
                    message = error_message(body) or resp.reason or ""
                    reason = f"http_{resp.status}"
                    if is_retryable_status(resp.status):
                        raise _Retry(
                            resp.status, reason, message, parse_retry_after(resp.headers.get("Retry-After"))
                        )
                    raise ApiError(resp.status, reason, message)
                if not req.stream:
                    raw = await resp.read()
                    latency = time.perf_counter() - start
                    try:
                        data = loads(raw)
                        err = adapter.error_in_event(data)
                        if err:
                            raise ApiError(resp.status, "api_error", err)
                        d = adapter.parse_body(data)
                    except (ValueError, AttributeError, TypeError, KeyError, IndexError) as exc:
                        raise _Retry(resp.status, "bad_body", f"undecodable response body: {exc}") from None
                    return Completion(
                        text=d.text or "",
                        reasoning=d.reasoning or "",
                        finish_reason=d.finish_reason,
                        usage=Usage(prompt_tokens=d.prompt_tokens, completion_tokens=d.completion_tokens),
                        latency=latency,
                        ttft=latency,
                    )
                acc = StreamAccumulator(adapter)
                async for chunk in resp.content.iter_any():
                    acc.feed(chunk, time.perf_counter())
                acc.close()
                latency = time.perf_counter() - start
        except (ApiError, _Retry):
            raise
        except (TimeoutError, StreamError, aiohttp.ClientError, OSError) as exc:
            reason, message = classify_exception(exc)
            raise _Retry(None, reason, message) from None
        ttft = acc.out_times[0] - start if acc.out_times else None
        return Completion(
            text=acc.text,
            reasoning=acc.reasoning,
            finish_reason=acc.finish_reason,
            usage=Usage(prompt_tokens=acc.prompt_tokens, completion_tokens=acc.completion_tokens),
            latency=latency,
            ttft=ttft,
        )
