"""Wire formats the mock speaks: request parsing, response bodies, stream events, errors.

Each format turns its provider's request body into a ``GenRequest`` and renders a ``Plan`` in its
provider's documented response shapes. Timing, faults and stats live in ``app.py`` and are shared.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from evalscope.mock.config import MockConfig
from evalscope.mock.plan import BadRequest, GenRequest, Plan, join_text

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _sse(obj: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {_dumps(obj)}\n\n".encode()


_MARK = "\x00text\x00"
_MARK_JSON = _dumps(_MARK).encode()


def _framed(st: StreamState, text: str, render: Any) -> bytes:
    """A delta chunk whose only varying field is its text.

    The chunk around the text is rendered once per stream (with a marker in place of the text) and
    split; each delta then costs one string escape instead of a full JSON encode. This is the mock's
    hot path: with no delays configured it is most of the server's work per token.
    """
    if st.frame is None:
        head, _, tail = render().partition(_MARK_JSON)
        st.frame = (head, tail)
    head, tail = st.frame
    return head + _dumps(text).encode() + tail


def _content_text(content: Any, field_name: str) -> str:
    """Text of a message content: a string, or text parts joined by a newline (others ignored)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, str):
                texts.append(part)
        return join_text(texts)
    raise BadRequest(f"{field_name}: must be a string or a list of content parts")


def _opt_int(body: dict, key: str, *aliases: str) -> int | None:
    for k in (key, *aliases):
        value = body.get(k)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise BadRequest(f"{k}: must be a non-negative integer")
            return value
    return None


def _stop_list(value: Any, field_name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return value
    raise BadRequest(f"{field_name}: must be a string or a list of strings")


def _messages(body: dict, key: str = "messages") -> list[dict]:
    messages = body.get(key)
    if not isinstance(messages, list) or not messages:
        raise BadRequest(f"{key}: required, a non-empty list of messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise BadRequest(f"{key}[{i}]: must be an object with role and content")
    return messages


def _chat_texts(messages: list[dict], key: str) -> tuple[list[str], str]:
    texts, last_user = [], ""
    for i, m in enumerate(messages):
        text = _content_text(m.get("content"), f"{key}[{i}].content")
        texts.append(text)
        if m.get("role") == "user":
            last_user = text
    return texts, last_user


class StreamState:
    """Running totals while one stream is written (formats that repeat totals need them)."""

    __slots__ = ("tokens", "chunks", "content", "reasoning", "block", "frame", "seq")

    def __init__(self) -> None:
        self.frame: tuple[bytes, bytes] | None = None  # cached bytes around a delta's text
        self.tokens = 0  # tokens emitted so far, including the chunk being rendered
        self.chunks = 0  # chunks already rendered before this one
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.block: str | None = None  # anthropic: the content block kind now open
        self.seq = 0  # Responses API: events written so far (each event's sequence_number)


class WireFormat:
    """Base class: one provider's request and response shapes."""

    name = ""

    def stream_content_type(self, req: GenRequest) -> str:
        return "text/event-stream"

    def parse(self, body: dict, request: web.Request, cfg: MockConfig) -> GenRequest:
        raise NotImplementedError

    def body(self, plan: Plan, req: GenRequest) -> dict:
        raise NotImplementedError

    def head(self, plan: Plan, req: GenRequest) -> bytes:
        return b""

    def delta(self, plan: Plan, req: GenRequest, kind: str, text: str, st: StreamState) -> bytes:
        raise NotImplementedError

    def tail(self, plan: Plan, req: GenRequest, st: StreamState) -> bytes:
        raise NotImplementedError

    def malformed(self) -> bytes:
        return b'data: {"malformed": [\n\n'

    def error_body(self, status: int, message: str) -> dict:
        raise NotImplementedError

    def finish(self, plan: Plan) -> str:
        return plan.finish


def _usage_openai(prompt: int, completion: int, reasoning: int = 0) -> dict:
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if reasoning:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return usage


class _OpenAIBase(WireFormat):
    def error_body(self, status: int, message: str) -> dict:
        kind = {
            400: "invalid_request_error",
            401: "authentication_error",
            404: "not_found_error",
            429: "rate_limit_error",
        }.get(status, "server_error" if status >= 500 else "invalid_request_error")
        return {"error": {"message": message, "type": kind, "param": None, "code": status}}

    def _common(self, body: dict, cfg: MockConfig) -> dict:
        stream_options = body.get("stream_options") or {}
        if not isinstance(stream_options, dict):
            raise BadRequest("stream_options: must be an object")
        model = body.get("model", cfg.model_name)
        if not isinstance(model, str):
            raise BadRequest("model: must be a string")
        return dict(
            model=model,
            stream=bool(body.get("stream", False)),
            max_tokens=_opt_int(body, "max_tokens", "max_completion_tokens"),
            min_tokens=_opt_int(body, "min_tokens"),
            ignore_eos=bool(body.get("ignore_eos", False)),
            stop=_stop_list(body.get("stop"), "stop"),
            include_usage=bool(stream_options.get("include_usage", False)),
            continuous_usage=bool(stream_options.get("continuous_usage_stats", False)),
        )

    def _usage(self, plan: Plan) -> dict:
        return _usage_openai(plan.prompt_tokens, plan.completion_tokens, len(plan.reasoning))

    def _chunk_usage(self, plan: Plan, req: GenRequest, st: StreamState) -> dict:
        if req.continuous_usage:
            return {"usage": _usage_openai(plan.prompt_tokens, st.tokens)}
        return {"usage": None} if req.include_usage else {}

    def _usage_chunk(self, plan: Plan, obj: str, prefix: str) -> bytes:
        return _sse(
            {
                "id": prefix + plan.id,
                "object": obj,
                "created": plan.created,
                "model": plan.model,
                "choices": [],
                "usage": self._usage(plan),
            }
        )


class OpenAIChat(_OpenAIBase):
    """OpenAI ``POST /v1/chat/completions``."""

    name = "openai-chat"

    def parse(self, body: dict, request: web.Request, cfg: MockConfig) -> GenRequest:
        texts, last_user = _chat_texts(_messages(body), "messages")
        return GenRequest(prompt_text=join_text(texts), last_user=last_user, **self._common(body, cfg))

    def body(self, plan: Plan, req: GenRequest) -> dict:
        message: dict[str, Any] = {"role": "assistant", "content": plan.text}
        if plan.reasoning:
            message["reasoning_content"] = plan.reasoning_text
        return {
            "id": f"chatcmpl-{plan.id}",
            "object": "chat.completion",
            "created": plan.created,
            "model": plan.model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": plan.finish}],
            "usage": self._usage(plan),
        }

    def _chunk(self, plan: Plan, req: GenRequest, st: StreamState, delta: dict, finish: str | None) -> bytes:
        return _sse(
            {
                "id": f"chatcmpl-{plan.id}",
                "object": "chat.completion.chunk",
                "created": plan.created,
                "model": plan.model,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                **self._chunk_usage(plan, req, st),
            }
        )

    def head(self, plan: Plan, req: GenRequest) -> bytes:
        return self._chunk(plan, req, StreamState(), {"role": "assistant", "content": ""}, None)

    def delta(self, plan: Plan, req: GenRequest, kind: str, text: str, st: StreamState) -> bytes:
        if kind != "content" or req.continuous_usage:
            key = "content" if kind == "content" else "reasoning_content"
            return self._chunk(plan, req, st, {key: text}, None)
        return _framed(st, text, lambda: self._chunk(plan, req, st, {"content": _MARK}, None))

    def tail(self, plan: Plan, req: GenRequest, st: StreamState) -> bytes:
        out = self._chunk(plan, req, st, {}, plan.finish)
        if req.include_usage:
            out += self._usage_chunk(plan, "chat.completion.chunk", "chatcmpl-")
        return out + b"data: [DONE]\n\n"


class OpenAICompletions(_OpenAIBase):
    """OpenAI ``POST /v1/completions`` (legacy text completions)."""

    name = "openai-completions"

    def parse(self, body: dict, request: web.Request, cfg: MockConfig) -> GenRequest:
        prompt = body.get("prompt")
        ids = None
        if isinstance(prompt, str):
            text = prompt
        elif isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
            text = join_text(prompt)
        elif isinstance(prompt, list) and prompt and all(isinstance(p, int) for p in prompt):
            text, ids = "", len(prompt)
        else:
            raise BadRequest("prompt: required, a string, a list of strings or a list of token ids")
        return GenRequest(prompt_text=text, last_user=text, prompt_token_ids=ids, **self._common(body, cfg))

    def body(self, plan: Plan, req: GenRequest) -> dict:
        return {
            "id": f"cmpl-{plan.id}",
            "object": "text_completion",
            "created": plan.created,
            "model": plan.model,
            "choices": [{"index": 0, "text": plan.text, "logprobs": None, "finish_reason": plan.finish}],
            "usage": self._usage(plan),
        }

    def _chunk(self, plan: Plan, req: GenRequest, st: StreamState, text: str, finish: str | None) -> bytes:
        return _sse(
            {
                "id": f"cmpl-{plan.id}",
                "object": "text_completion",
                "created": plan.created,
                "model": plan.model,
                "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}],
                **self._chunk_usage(plan, req, st),
            }
        )

    def delta(self, plan: Plan, req: GenRequest, kind: str, text: str, st: StreamState) -> bytes:
        # text completions have no reasoning channel; reasoning (if scripted) is sent as text
        if req.continuous_usage:
            return self._chunk(plan, req, st, text, None)
        return _framed(st, text, lambda: self._chunk(plan, req, st, _MARK, None))

    def tail(self, plan: Plan, req: GenRequest, st: StreamState) -> bytes:
        out = self._chunk(plan, req, st, "", plan.finish)
        if req.include_usage:
            out += self._usage_chunk(plan, "text_completion", "cmpl-")
        return out + b"data: [DONE]\n\n"


class AnthropicMessages(WireFormat):
    """Anthropic ``POST /v1/messages``."""

    name = "anthropic"

    def parse(self, body: dict, request: web.Request, cfg: MockConfig) -> GenRequest:
        texts, last_user = _chat_texts(_messages(body), "messages")
        system = body.get("system")
        if system is not None:
            texts.insert(0, _content_text(system, "system"))
        model = body.get("model", cfg.model_name)
        if not isinstance(model, str):
            raise BadRequest("model: must be a string")
        return GenRequest(
            model=model,
            stream=bool(body.get("stream", False)),
            prompt_text=join_text(texts),
            last_user=last_user,
            max_tokens=_opt_int(body, "max_tokens"),
            stop=_stop_list(body.get("stop_sequences"), "stop_sequences"),
        )

    def finish(self, plan: Plan) -> str:
        if plan.stop_sequence is not None:
            return "stop_sequence"
        return {"stop": "end_turn", "length": "max_tokens"}.get(plan.finish, plan.finish)

    def body(self, plan: Plan, req: GenRequest) -> dict:
        content: list[dict] = []
        if plan.reasoning:
            content.append({"type": "thinking", "thinking": plan.reasoning_text, "signature": "mock"})
        content.append({"type": "text", "text": plan.text})
        return {
            "id": f"msg_{plan.id}",
            "type": "message",
            "role": "assistant",
            "model": plan.model,
            "content": content,
            "stop_reason": self.finish(plan),
            "stop_sequence": plan.stop_sequence,
            "usage": {"input_tokens": plan.prompt_tokens, "output_tokens": plan.completion_tokens},
        }

    def head(self, plan: Plan, req: GenRequest) -> bytes:
        message: dict[str, Any] = {
            "id": f"msg_{plan.id}",
            "type": "message",
            "role": "assistant",
            "model": plan.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": plan.prompt_tokens, "output_tokens": 0},
        }
        return _sse({"type": "message_start", "message": message}, "message_start")

    def _switch(self, kind: str, st: StreamState) -> bytes:
        out = b""
        index = 0
        if st.block is not None:
            out += self._close(st)
            index = 1
        block = {"type": "thinking", "thinking": ""} if kind == "reasoning" else {"type": "text", "text": ""}
        out += _sse(
            {"type": "content_block_start", "index": index, "content_block": block}, "content_block_start"
        )
        if st.block is None:
            out += _sse({"type": "ping"}, "ping")
        st.block = kind
        return out

    def _close(self, st: StreamState) -> bytes:
        index = 1 if st.block == "content" and st.reasoning else 0
        out = b""
        if st.block == "reasoning":
            delta = {"type": "signature_delta", "signature": "mock"}
            out += _sse({"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta")
        return out + _sse({"type": "content_block_stop", "index": index}, "content_block_stop")

    def delta(self, plan: Plan, req: GenRequest, kind: str, text: str, st: StreamState) -> bytes:
        out = self._switch(kind, st) if st.block != kind else b""
        if kind == "reasoning":
            delta, index = {"type": "thinking_delta", "thinking": text}, 0
        else:
            delta, index = {"type": "text_delta", "text": text}, 1 if st.reasoning or plan.reasoning else 0
        return out + _sse(
            {"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta"
        )

    def tail(self, plan: Plan, req: GenRequest, st: StreamState) -> bytes:
        out = b""
        if st.block != "content":  # an empty reply still has its (empty) text block
            out += self._switch("content", st)
        out += self._close(st)
        out += _sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": self.finish(plan), "stop_sequence": plan.stop_sequence},
                "usage": {"output_tokens": plan.completion_tokens},
            },
            "message_delta",
        )
        return out + _sse({"type": "message_stop"}, "message_stop")

    def malformed(self) -> bytes:
        return b'event: content_block_delta\ndata: {"type": "content_block_delta", "delta": \n\n'

    def error_body(self, status: int, message: str) -> dict:
        kind = {
            400: "invalid_request_error",
            401: "authentication_error",
            403: "permission_error",
            404: "not_found_error",
            413: "request_too_large",
            429: "rate_limit_error",
            529: "overloaded_error",
        }.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": message}}


_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class GeminiGenerate(WireFormat):
    """Gemini ``POST /v1beta/models/{model}:generateContent`` and ``:streamGenerateContent``."""

    name = "gemini"

    def parse(self, body: dict, request: web.Request, cfg: MockConfig) -> GenRequest:
        contents = body.get("contents")
        if isinstance(contents, dict):
            contents = [contents]
        if not isinstance(contents, list) or not contents:
            raise BadRequest("contents: required, a non-empty list of contents")
        texts, last_user = [], ""
        system = body.get("systemInstruction") or body.get("system_instruction")
        if system is not None:
            if not isinstance(system, dict):
                raise BadRequest("systemInstruction: must be an object with parts")
            texts.append(_content_text(system.get("parts"), "systemInstruction.parts"))
        for i, c in enumerate(contents):
            if not isinstance(c, dict):
                raise BadRequest(f"contents[{i}]: must be an object with role and parts")
            text = _content_text(c.get("parts"), f"contents[{i}].parts")
            texts.append(text)
            if c.get("role", "user") == "user":
                last_user = text
        gen = body.get("generationConfig") or body.get("generation_config") or {}
        if not isinstance(gen, dict):
            raise BadRequest("generationConfig: must be an object")
        model, _, method = request.match_info["model_method"].partition(":")
        if method not in ("generateContent", "streamGenerateContent"):
            raise BadRequest(
                f"{method or 'method'}: expected models/MODEL:generateContent or :streamGenerateContent"
            )
        return GenRequest(
            model=model,
            stream=method == "streamGenerateContent",
            prompt_text=join_text(texts),
            last_user=last_user,
            max_tokens=_opt_int(gen, "maxOutputTokens", "max_output_tokens"),
            stop=_stop_list(gen.get("stopSequences"), "generationConfig.stopSequences"),
            options={"sse": request.query.get("alt") == "sse"},
        )

    def stream_content_type(self, req: GenRequest) -> str:
        return "text/event-stream" if req.options.get("sse") else "application/json"

    def finish(self, plan: Plan) -> str:
        return {"stop": "STOP", "length": "MAX_TOKENS"}.get(plan.finish, plan.finish)

    def _usage(self, plan: Plan, completion: int) -> dict:
        usage = {
            "promptTokenCount": plan.prompt_tokens,
            "candidatesTokenCount": completion - min(completion, len(plan.reasoning)),
            "totalTokenCount": plan.prompt_tokens + completion,
        }
        if plan.reasoning:
            usage["thoughtsTokenCount"] = min(completion, len(plan.reasoning))
        return usage

    def _response(self, plan: Plan, parts: list[dict], finish: bool, completion: int) -> dict:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if finish:
            candidate["finishReason"] = self.finish(plan)
        return {
            "candidates": [candidate],
            "usageMetadata": self._usage(plan, completion),
            "modelVersion": plan.model,
            "responseId": plan.id,
        }

    def body(self, plan: Plan, req: GenRequest) -> dict:
        parts = [{"text": plan.reasoning_text, "thought": True}] if plan.reasoning else []
        parts.append({"text": plan.text})
        return self._response(plan, parts, True, plan.completion_tokens)

    def _event(self, req: GenRequest, obj: dict, first: bool) -> bytes:
        if req.options.get("sse"):
            return f"data: {_dumps(obj)}\r\n\r\n".encode()
        # without alt=sse the stream is one JSON array, written element by element
        return (b"[" if first else b",\r\n") + _dumps(obj).encode()

    def delta(self, plan: Plan, req: GenRequest, kind: str, text: str, st: StreamState) -> bytes:
        part = {"text": text, "thought": True} if kind == "reasoning" else {"text": text}
        return self._event(req, self._response(plan, [part], False, st.tokens), st.chunks == 0)

    def tail(self, plan: Plan, req: GenRequest, st: StreamState) -> bytes:
        last = self._response(plan, [{"text": ""}], True, plan.completion_tokens)
        out = self._event(req, last, st.chunks == 0)
        return out if req.options.get("sse") else out + b"]"

    def malformed(self) -> bytes:
        return b'data: {"candidates": [\r\n\r\n'

    def error_body(self, status: int, message: str) -> dict:
        return {
            "error": {"code": status, "message": message, "status": _GOOGLE_STATUS.get(status, "UNKNOWN")}
        }


_DASHSCOPE_CODES = {
    400: "InvalidParameter",
    401: "InvalidApiKey",
    404: "ModelNotFound",
    429: "Throttling.RateQuota",
    500: "InternalError",
    503: "ServiceUnavailable",
}


class DashScopeGeneration(WireFormat):
    """DashScope ``POST /api/v1/services/aigc/text-generation/generation``."""

    name = "dashscope"

    def parse(self, body: dict, request: web.Request, cfg: MockConfig) -> GenRequest:
        inp = body.get("input")
        if not isinstance(inp, dict):
            raise BadRequest("input: required, an object with messages or prompt")
        params = body.get("parameters") or {}
        if not isinstance(params, dict):
            raise BadRequest("parameters: must be an object")
        if "messages" in inp:
            texts, last_user = _chat_texts(_messages(inp), "input.messages")
            prompt_text = join_text(texts)
        elif isinstance(inp.get("prompt"), str):
            prompt_text = last_user = inp["prompt"]
        else:
            raise BadRequest("input: needs messages (a list) or prompt (a string)")
        result_format = params.get("result_format", "text")
        if result_format not in ("text", "message"):
            raise BadRequest("parameters.result_format: must be 'text' or 'message'")
        sse = (
            request.headers.get("X-DashScope-SSE", "").lower() == "enable"
            or "text/event-stream" in request.headers.get("Accept", "")
            or bool(params.get("stream", False))
        )
        model = body.get("model", cfg.model_name)
        if not isinstance(model, str):
            raise BadRequest("model: must be a string")
        return GenRequest(
            model=model,
            stream=sse,
            prompt_text=prompt_text,
            last_user=last_user,
            max_tokens=_opt_int(params, "max_tokens"),
            stop=_stop_list(params.get("stop"), "parameters.stop"),
            options={
                "message": result_format == "message",
                "incremental": bool(params.get("incremental_output", False)),
            },
        )

    def _output(self, req: GenRequest, content: str, reasoning: str, finish: str) -> dict:
        if req.options["message"]:
            message = {"role": "assistant", "content": content}
            if reasoning:
                message["reasoning_content"] = reasoning
            return {"choices": [{"finish_reason": finish, "message": message}]}
        return {"text": content, "finish_reason": finish}

    def _response(self, plan: Plan, req: GenRequest, output: dict, completion: int) -> dict:
        return {
            "output": output,
            "usage": {
                "input_tokens": plan.prompt_tokens,
                "output_tokens": completion,
                "total_tokens": plan.prompt_tokens + completion,
            },
            "request_id": plan.id,
        }

    def body(self, plan: Plan, req: GenRequest) -> dict:
        output = self._output(req, plan.text, plan.reasoning_text, plan.finish)
        return self._response(plan, req, output, plan.completion_tokens)

    def _event(self, st: StreamState, obj: dict) -> bytes:
        return f"id:{st.chunks + 1}\nevent:result\n:HTTP_STATUS/200\ndata:{_dumps(obj)}\n\n".encode()

    def delta(self, plan: Plan, req: GenRequest, kind: str, text: str, st: StreamState) -> bytes:
        if req.options["incremental"]:
            content, reasoning = (text, "") if kind == "content" else ("", text)
        else:  # without incremental_output every event repeats the whole text so far
            content, reasoning = "".join(st.content), "".join(st.reasoning)
        output = self._output(req, content, reasoning, "null")
        return self._event(st, self._response(plan, req, output, st.tokens))

    def tail(self, plan: Plan, req: GenRequest, st: StreamState) -> bytes:
        if req.options["incremental"]:
            content, reasoning = "", ""
        else:
            content, reasoning = plan.text, plan.reasoning_text
        output = self._output(req, content, reasoning, plan.finish)
        return self._event(st, self._response(plan, req, output, plan.completion_tokens))

    def malformed(self) -> bytes:
        return b'id:0\nevent:result\n:HTTP_STATUS/200\ndata:{"output": {\n\n'

    def error_body(self, status: int, message: str) -> dict:
        return {"code": _DASHSCOPE_CODES.get(status, "InternalError"), "message": message, "request_id": ""}
