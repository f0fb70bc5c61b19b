"""Google Gemini ``models/{model}:generateContent`` and ``:streamGenerateContent?alt=sse``."""

from __future__ import annotations

from typing import Any

from evalscope.client.adapters.base import Adapter, optional
from evalscope.client.types import Delta, GenerationRequest, message_text


class GeminiAdapter(Adapter):
    """Gemini: the model is in the path, the key in ``x-goog-api-key``, roles are user/model."""

    name = "gemini"

    def _endpoint(self, stream: bool) -> str:
        url = self.base_url
        for marker in (":streamGenerateContent", ":generateContent"):
            if marker in url:
                url = url.split(marker, 1)[0]
                break
        else:
            if "/models/" not in url:
                url = f"{url}/models/{self.model}"
        return url + (":streamGenerateContent?alt=sse" if stream else ":generateContent")

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        return {"x-goog-api-key": api_key} if api_key else {}

    def body(self, req: GenerationRequest) -> dict[str, Any]:
        system, contents = [], []
        for m in req.chat_messages():
            role = m.get("role", "user")
            if role == "system":
                system.append(message_text(m))
                continue
            contents.append(
                {"role": "model" if role == "assistant" else "user", "parts": [{"text": message_text(m)}]}
            )
        config = optional(
            {},
            maxOutputTokens=req.max_tokens,
            temperature=req.temperature,
            topP=req.top_p,
            topK=req.top_k,
            stopSequences=req.stop_list(),
            seed=req.seed,
        )
        body: dict[str, Any] = {"contents": contents, "generationConfig": config}
        if system:
            body["systemInstruction"] = {"parts": [{"text": "\n".join(system)}]}
        body.update(req.extra_body)
        return body

    def parse_event(self, event: Any) -> Delta | None:
        return self.parse_body(event, streaming=True)

    def parse_body(self, body: Any, streaming: bool = False) -> Delta:
        text: list[str] = []
        thought: list[str] = []
        finish = None
        candidates = body.get("candidates") or []
        if candidates:
            cand = candidates[0]
            for part in (cand.get("content") or {}).get("parts") or []:
                if "text" in part:
                    (thought if part.get("thought") else text).append(part["text"])
            finish = cand.get("finishReason")
        usage = body.get("usageMetadata") or {}
        completion = usage.get("candidatesTokenCount")
        if completion is not None and usage.get("thoughtsTokenCount"):
            completion += usage["thoughtsTokenCount"]
        if streaming:
            return Delta(
                "".join(text) if text else None,
                "".join(thought) if thought else None,
                finish,
                usage.get("promptTokenCount"),
                completion,
            )
        return Delta(
            "".join(text), "".join(thought) or None, finish, usage.get("promptTokenCount"), completion
        )
