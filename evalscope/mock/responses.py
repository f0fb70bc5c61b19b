"""The mock's OpenAI Responses API (``POST /v1/responses``), streamed or not.

A wire format like the chat ones (see ``formats.py``), so timing (``ttft``, ``itl``, jitter),
scripted answers, echo, ``max_output_tokens``, faults and stats apply exactly as for chat.
Request: ``input`` (a string, or a list of messages ``{role, content}`` whose content is a string
or ``input_text`` parts), optional ``instructions`` (counted first), ``max_output_tokens``,
``stream``; vLLM's ``min_tokens`` and ``ignore_eos`` are honoured as in chat.

Streamed events, each framed ``event: <type>`` / ``data: {..., "sequence_number": n}``:
``response.created``, ``response.in_progress``, ``response.output_item.added``,
``response.content_part.added``, then one ``response.output_text.delta`` per chunk (a scripted
reasoning comes first as ``response.reasoning_text.delta`` in a ``reasoning`` item), then
``response.output_text.done``, ``response.content_part.done``, ``response.output_item.done`` and
``response.completed`` (``response.incomplete`` with ``incomplete_details.reason:
"max_output_tokens"`` when cut at the limit) carrying the whole response with ``usage``
``{input_tokens, output_tokens, total_tokens}``. No ``[DONE]``.
"""

from __future__ import annotations

from aiohttp import web

from evalscope.mock.config import MockConfig
from evalscope.mock.formats import StreamState, _content_text, _OpenAIBase, _opt_int, _sse
from evalscope.mock.plan import BadRequest, GenRequest, Plan, join_text

#: events written by ``head`` (created, in_progress, output_item.added, content_part.added)
_HEAD_EVENTS = 4


def _seq(st: StreamState) -> int:
    n = max(st.seq, _HEAD_EVENTS)
    st.seq = n + 1
    return n


class OpenAIResponses(_OpenAIBase):
    """OpenAI ``POST /v1/responses``."""

    name = "openai-responses"

    def parse(self, body: dict, request: web.Request, cfg: MockConfig) -> GenRequest:
        raw = body.get("input")
        texts: list[str] = []
        last_user = ""
        instructions = body.get("instructions")
        if instructions is not None:
            if not isinstance(instructions, str):
                raise BadRequest("instructions: must be a string")
            texts.append(instructions)
        if isinstance(raw, str):
            texts.append(raw)
            last_user = raw
        elif isinstance(raw, list) and raw:
            for i, item in enumerate(raw):
                if not isinstance(item, dict):
                    raise BadRequest(f"input[{i}]: must be an object with role and content")
                text = _content_text(item.get("content"), f"input[{i}].content")
                texts.append(text)
                if item.get("role", "user") == "user":
                    last_user = text
        else:
            raise BadRequest("input: required, a string or a non-empty list of messages")
        model = body.get("model", cfg.model_name)
        if not isinstance(model, str):
            raise BadRequest("model: must be a string")
        return GenRequest(
            model=model,
            stream=bool(body.get("stream", False)),
            prompt_text=join_text(texts),
            last_user=last_user,
            max_tokens=_opt_int(body, "max_output_tokens"),
            min_tokens=_opt_int(body, "min_tokens"),
            ignore_eos=bool(body.get("ignore_eos", False)),
        )

    # -- the response object ------------------------------------------------------------------
    @staticmethod
    def _ids(plan: Plan) -> tuple[str, str]:
        return f"rs_{plan.id}", f"msg_{plan.id}"

    def _reasoning_item(self, plan: Plan, text: str | None) -> dict:
        content = [] if text is None else [{"type": "reasoning_text", "text": text}]
        return {"type": "reasoning", "id": self._ids(plan)[0], "summary": [], "content": content}

    def _message_item(self, plan: Plan, text: str | None) -> dict:
        content = [] if text is None else [{"type": "output_text", "text": text, "annotations": []}]
        status = "in_progress" if text is None else "completed"
        return {
            "type": "message",
            "id": self._ids(plan)[1],
            "status": status,
            "role": "assistant",
            "content": content,
        }

    def _response(self, plan: Plan, final: bool) -> dict:
        output: list[dict] = []
        incomplete = final and plan.finish == "length"
        if final:
            if plan.reasoning:
                output.append(self._reasoning_item(plan, plan.reasoning_text))
            output.append(self._message_item(plan, plan.text))
        usage = None
        if final:
            usage = {
                "input_tokens": plan.prompt_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": plan.completion_tokens,
                "output_tokens_details": {"reasoning_tokens": len(plan.reasoning)},
                "total_tokens": plan.prompt_tokens + plan.completion_tokens,
            }
        return {
            "id": f"resp_{plan.id}",
            "object": "response",
            "created_at": plan.created,
            "status": ("incomplete" if incomplete else "completed") if final else "in_progress",
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
            "model": plan.model,
            "output": output,
            "usage": usage,
        }

    def body(self, plan: Plan, req: GenRequest) -> dict:
        return self._response(plan, final=True)

    # -- the stream ---------------------------------------------------------------------------
    def _event(self, obj: dict) -> bytes:
        return _sse(obj, obj["type"])

    def _open(self, plan: Plan, kind: str, seq: list[int]) -> bytes:
        """``output_item.added`` and ``content_part.added`` of the item of ``kind``."""
        index = 1 if kind == "content" and plan.reasoning else 0
        part: dict[str, object]
        if kind == "reasoning":
            item, part = self._reasoning_item(plan, None), {"type": "reasoning_text", "text": ""}
        else:
            item, part = (
                self._message_item(plan, None),
                {"type": "output_text", "text": "", "annotations": []},
            )
        added = {"type": "response.output_item.added", "sequence_number": seq[0], "output_index": index}
        out = self._event({**added, "item": item})
        part_ev = {
            "type": "response.content_part.added",
            "sequence_number": seq[1],
            "item_id": item["id"],
            "output_index": index,
            "content_index": 0,
            "part": part,
        }
        return out + self._event(part_ev)

    def _close(self, plan: Plan, kind: str, text: str, st: StreamState) -> bytes:
        """``..._text.done``, ``content_part.done`` and ``output_item.done`` of the item of ``kind``."""
        index = 1 if kind == "content" and plan.reasoning else 0
        rs_id, msg_id = self._ids(plan)
        part: dict[str, object]
        if kind == "reasoning":
            done_type, item_id = "response.reasoning_text.done", rs_id
            part = {"type": "reasoning_text", "text": text}
            item = self._reasoning_item(plan, text)
        else:
            done_type, item_id = "response.output_text.done", msg_id
            part = {"type": "output_text", "text": text, "annotations": []}
            item = self._message_item(plan, text)
        where: dict[str, object] = {"item_id": item_id, "output_index": index, "content_index": 0}
        out = self._event({"type": done_type, "sequence_number": _seq(st), **where, "text": text})
        out += self._event(
            {"type": "response.content_part.done", "sequence_number": _seq(st), **where, "part": part}
        )
        return out + self._event(
            {
                "type": "response.output_item.done",
                "sequence_number": _seq(st),
                "output_index": index,
                "item": item,
            }
        )

    def head(self, plan: Plan, req: GenRequest) -> bytes:
        start = self._response(plan, final=False)
        out = self._event({"type": "response.created", "sequence_number": 0, "response": start})
        out += self._event({"type": "response.in_progress", "sequence_number": 1, "response": start})
        return out + self._open(plan, "reasoning" if plan.reasoning else "content", [2, 3])

    def delta(self, plan: Plan, req: GenRequest, kind: str, text: str, st: StreamState) -> bytes:
        out = b""
        if kind == "content" and plan.reasoning and st.block != "content":
            # the reasoning item ends, the message item starts
            out += self._close(plan, "reasoning", "".join(st.reasoning), st)
            out += self._open(plan, "content", [_seq(st), _seq(st)])
            st.block = "content"
        rs_id, msg_id = self._ids(plan)
        index = 1 if kind == "content" and plan.reasoning else 0
        event: dict[str, object] = {
            "type": "response.output_text.delta" if kind == "content" else "response.reasoning_text.delta",
            "sequence_number": _seq(st),
            "item_id": msg_id if kind == "content" else rs_id,
            "output_index": index,
            "content_index": 0,
            "delta": text,
        }
        if kind == "content":
            event["logprobs"] = []
        return out + self._event(event)

    def tail(self, plan: Plan, req: GenRequest, st: StreamState) -> bytes:
        out = b""
        if plan.reasoning and st.block != "content":  # reasoning only (or nothing sent): close it
            out += self._close(plan, "reasoning", "".join(st.reasoning), st)
            out += self._open(plan, "content", [_seq(st), _seq(st)])
        out += self._close(plan, "content", "".join(st.content), st)
        final = self._response(plan, final=True)
        kind = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
        return out + self._event({"type": kind, "sequence_number": _seq(st), "response": final})

    def malformed(self) -> bytes:
        return (
            b'event: response.output_text.delta\ndata: {"type": "response.output_text.delta", "delta": \n\n'
        )
