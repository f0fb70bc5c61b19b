"""The connection test: one tiny request before a run, so a wrong URL or key fails in a second.

Without it a dead endpoint costs every sample its full retry schedule (minutes) before the run
can say what is wrong.  The probe is a single generation request (``max_tokens=1``) sent with the
run's own adapter, URL, key, headers and stream setting, never retried:

- fatal (raises :class:`~evalscope.errors.RunFailed`): the host cannot be reached (connection
  refused, unknown host, TLS failure, no answer to the connection), or the server answers 401,
  403, 404 or 405 -- every request of the run would fail the same way;
- anything else that is not a 200 (429, 5xx, a read timeout, a 400 for the probe's tiny body) is
  returned as a warning and the run goes on: those can be transient or specific to the probe, and
  the run's own retries and failure accounting deal with them.

The request carries the ``X-EvalScope-Probe`` header so a server (our mock) can tell it from the
run's requests.  ``no_test_connection`` (eval and perf) turns the probe off.
"""

from __future__ import annotations

from typing import Any

from evalscope.errors import RunFailed

#: header marking the probe; the mock answers it outside its statistics, scripts and faults
PROBE_HEADER = "X-EvalScope-Probe"
PROBE_PROMPT = "ping"
#: seconds to wait for the TCP/TLS connection; a host that does not answer by then is unreachable
CONNECT_TIMEOUT_S = 10.0
#: seconds for the whole probe (a model may be slow to produce even one token; then we only warn)
PROBE_TIMEOUT_S = 60.0
#: answers that mean the URL, the path, the model name or the key is wrong
FATAL_STATUSES = {
    401: "check api_key",
    403: "check api_key",
    404: "check the URL's path and the model name",
    405: "check the URL's path",
}


def _connect_cause(exc: BaseException) -> str:
    import aiohttp

    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"unknown host ({getattr(exc.os_error, 'strerror', None) or exc.os_error})"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, ConnectionRefusedError):
            return "connection refused"
        return str(getattr(os_error, "strerror", None) or os_error or exc)
    return str(exc) or type(exc).__name__


async def check_connection(
    api: str,
    url: str,
    model: str,
    api_key: str | None = None,
    headers: dict[str, str] | None = None,
    *,
    stream: bool = False,
    timeout: float | None = PROBE_TIMEOUT_S,
    connect_timeout: float | None = CONNECT_TIMEOUT_S,
) -> str | None:
    """Send the probe; raise ``RunFailed`` naming the endpoint and the cause when the model cannot
    serve this run at all, return a warning text when it answered oddly, None when it answered 200."""
    import aiohttp

    from evalscope.client.adapters import make_adapter
    from evalscope.client.errors import error_message
    from evalscope.client.jsonfast import dumps
    from evalscope.client.types import GenerationRequest

    adapter = make_adapter(api, url, model, api_key, headers)
    endpoint = adapter.endpoint(stream)
    req = GenerationRequest(
        messages=[{"role": "user", "content": PROBE_PROMPT}], max_tokens=1, temperature=0.0, stream=stream
    )
    total = min(PROBE_TIMEOUT_S, timeout) if timeout else PROBE_TIMEOUT_S
    connect = min(CONNECT_TIMEOUT_S, connect_timeout or CONNECT_TIMEOUT_S, total)
    client_timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect)
    send_headers: dict[str, Any] = {**adapter.headers(stream), PROBE_HEADER: "1"}
    try:
        async with aiohttp.ClientSession(timeout=client_timeout) as session:
            async with session.post(endpoint, data=dumps(adapter.body(req)), headers=send_headers) as resp:
                body = await resp.read()
                status, reason = resp.status, resp.reason or ""
    except aiohttp.InvalidURL:
        raise RunFailed(f"cannot reach the model at {endpoint}: not a valid URL") from None
    except aiohttp.ConnectionTimeoutError:
        raise RunFailed(
            f"cannot reach the model at {endpoint}: no answer to the connection within {connect:g} s"
        ) from None
    except aiohttp.ClientConnectorError as exc:  # refused, unknown host, TLS handshake
        raise RunFailed(f"cannot reach the model at {endpoint}: {_connect_cause(exc)}") from None
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        # The host is there but the answer did not come (slow model, dropped connection): the
        # run's own timeouts and retries decide.
        cause = f"no answer within {total:g} s" if isinstance(exc, TimeoutError) else _connect_cause(exc)
        return f"connection test: the model at {endpoint} did not answer the probe ({cause}); going on"
    if status == 200:
        return None
    message = error_message(body)
    detail = f"{status} {reason}".strip() + (f": {message}" if message else "")
    if status in FATAL_STATUSES:
        raise RunFailed(f"the model at {endpoint} answered {detail} ({FATAL_STATUSES[status]})")
    return f"connection test: the model at {endpoint} answered {detail}; going on"
