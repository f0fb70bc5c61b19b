"""Turns a response's bytes into text, reasoning, finish reason, usage and per-chunk arrival times.

Shared by ``ModelClient.generate`` (eval) and the perf hot loop so both read streams identically.
"""

from __future__ import annotations

from evalscope.client.adapters.base import Adapter
from evalscope.client.errors import StreamError
from evalscope.client.jsonfast import loads
from evalscope.client.sse import SSEDecoder


class StreamAccumulator:
    """Feed it each network chunk with its arrival time; read the outcome when the body ends.

    ``out_times[i]`` is the arrival time of the i-th event that carried output (text or reasoning,
    never a role-only or empty delta) and ``out_parts[i]`` that event's output text.
    """

    __slots__ = ("adapter", "decoder", "sentinel", "out_times", "out_parts", "text_parts", "reasoning_parts",
                 "finish_reason", "prompt_tokens", "completion_tokens", "done", "events")

    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter
        self.decoder = SSEDecoder()
        self.sentinel = adapter.done_sentinel
        self.out_times: list[float] = []
        self.out_parts: list[str] = []
        self.text_parts: list[str] = []
        self.reasoning_parts: list[str] = []
        self.finish_reason: str | None = None
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.done = False
        self.events = 0

    def feed(self, chunk: bytes, t: float) -> None:
        """Consume one network chunk that arrived at ``t`` (perf_counter seconds)."""
        for data in self.decoder.feed(chunk):
            self._event(data, t)

    def _event(self, data: bytes, t: float) -> None:
        self.events += 1
        if data == self.sentinel:
            self.done = True
            return
        try:
            event = loads(data)
        except ValueError:
            raise StreamError("bad_chunk", f"undecodable stream event: {data[:200]!r}") from None
        if not isinstance(event, dict):
            raise StreamError("bad_chunk", f"stream event is not an object: {data[:200]!r}")
        err = self.adapter.error_in_event(event)
        if err:
            raise StreamError("api_error", err)
        try:
            delta = self.adapter.parse_event(event)
        except (AttributeError, TypeError, KeyError, IndexError) as exc:
            raise StreamError("bad_chunk", f"unexpected stream event shape ({exc}): {data[:200]!r}") from None
        if delta is None:
            return
        text, reasoning, finish, prompt, completion = delta
        if text or reasoning:
            self.out_times.append(t)
            if reasoning:
                self.reasoning_parts.append(reasoning)
                self.out_parts.append((text or "") + reasoning)
            else:
                self.out_parts.append(text)
            if text:
                self.text_parts.append(text)
        if finish:
            self.finish_reason = finish
        if prompt is not None:
            self.prompt_tokens = prompt
        if completion is not None:
            self.completion_tokens = completion

    def close(self) -> None:
        """The body ended: raise ``StreamError('cut_stream')`` if it ended before its final event."""
        for data in self.decoder.flush():
            self._event(data, 0.0)
        if not self.done and self.finish_reason is None:
            raise StreamError("cut_stream", "stream ended before its final event")

    @property
    def text(self) -> str:
        """All output text (reasoning excluded)."""
        return "".join(self.text_parts)

    @property
    def reasoning(self) -> str:
        """All reasoning text."""
        return "".join(self.reasoning_parts)
