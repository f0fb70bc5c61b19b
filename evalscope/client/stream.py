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

    __slots__ = (
        "adapter",
        "decoder",
        "sentinel",
        "fast",
        "out_times",
        "out_parts",
        "text_parts",
        "reasoning_parts",
        "finish_reason",
        "prompt_tokens",
        "completion_tokens",
        "done",
    )

    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter
        self.decoder = SSEDecoder()
        self.sentinel = adapter.done_sentinel
        self.fast = adapter.fast_text
        self.out_times: list[float] = []
        self.out_parts: list[str] = []
        self.text_parts: list[str] = []
        self.reasoning_parts: list[str] = []
        self.finish_reason: str | None = None
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.done = False

    def feed(self, chunk: bytes, t: float) -> None:
        """Consume one network chunk that arrived at ``t`` (perf_counter seconds)."""
        if chunk[-2:] == b"\n\n" and chunk[:6] == b"data: " and not self.decoder.pending:
            # the usual case, one whole plain event: no framing work (a line break inside would
            # mean several events or fields, which the decoder handles)
            data = chunk[6:-2]
            if b"\n" not in data and b"\r" not in data:
                text = self.fast(data)
                if text:
                    self.out_times.append(t)
                    self.out_parts.append(text)
                    if self.reasoning_parts:
                        self.text_parts.append(text)
                else:
                    self._events([data], t)
                return
        events = self.decoder.feed(chunk)
        if events:
            self._events(events, t)

    def _events(self, events: list[bytes], t: float) -> None:
        # the per-event path of every streamed token: kept flat on purpose
        parse = self.adapter.parse_event
        fast = self.adapter.fast_text
        sentinel = self.sentinel
        out_times = self.out_times
        out_parts = self.out_parts
        for data in events:
            text = fast(data)
            if text:
                out_times.append(t)
                out_parts.append(text)
                if self.reasoning_parts:
                    self.text_parts.append(text)
                continue
            if data == sentinel:
                self.done = True
                continue
            try:
                event = loads(data)
            except ValueError:
                raise StreamError("bad_chunk", f"undecodable stream event: {data[:200]!r}") from None
            try:
                delta = parse(event)
            except (AttributeError, TypeError, KeyError, IndexError) as exc:
                raise StreamError(
                    "bad_chunk", f"unexpected stream event shape ({exc}): {data[:200]!r}"
                ) from None
            if delta is None or not any(delta):
                err = self.adapter.error_in_event(event)
                if err:
                    raise StreamError("api_error", err)
                continue
            text, reasoning, finish, prompt, completion = delta
            if text or reasoning:
                out_times.append(t)
                if reasoning:
                    if not self.reasoning_parts:  # from now on text is kept apart from reasoning
                        self.text_parts = list(out_parts)
                    self.reasoning_parts.append(reasoning)
                    out_parts.append((text or "") + reasoning)
                elif text:  # always, here: no reasoning means the event carried text
                    out_parts.append(text)
                if text and self.reasoning_parts:
                    self.text_parts.append(text)
            if finish:
                self.finish_reason = finish
            if prompt is not None:
                self.prompt_tokens = prompt
            if completion is not None:
                self.completion_tokens = completion

    def close(self) -> None:
        """The body ended: raise ``StreamError('cut_stream')`` if it ended before its final event."""
        rest = self.decoder.flush()
        if rest:
            self._events(rest, self.out_times[-1] if self.out_times else 0.0)
        if not self.done and self.finish_reason is None:
            raise StreamError("cut_stream", "stream ended before its final event")

    @property
    def text(self) -> str:
        """All output text (reasoning excluded)."""
        return "".join(self.text_parts if self.reasoning_parts else self.out_parts)

    @property
    def reasoning(self) -> str:
        """All reasoning text."""
        return "".join(self.reasoning_parts)
