"""Wire adapters: one per protocol, chosen by ``api`` (and, for OpenAI, by the URL's last path part)."""

from __future__ import annotations

from evalscope.client.adapters.anthropic import AnthropicAdapter
from evalscope.client.adapters.base import Adapter
from evalscope.client.adapters.dashscope import DashScopeAdapter
from evalscope.client.adapters.embeddings import EMBEDDING_APIS, OpenAIEmbeddingsAdapter
from evalscope.client.adapters.gemini import GeminiAdapter
from evalscope.client.adapters.openai import OpenAIChatAdapter, OpenAICompletionsAdapter
from evalscope.client.adapters.rerank import RERANK_APIS, OpenAIRerankAdapter
from evalscope.client.adapters.responses import RESPONSES_APIS, OpenAIResponsesAdapter

API_NAMES = ("openai", "dashscope", "anthropic", "gemini", *EMBEDDING_APIS, *RERANK_APIS, *RESPONSES_APIS)
#: APIs that generate nothing: each request has inputs (texts, documents) instead of output tokens
INPUT_ONLY_APIS = (*EMBEDDING_APIS, *RERANK_APIS)


def make_adapter(
    api: str, url: str, model: str, api_key: str | None = None, headers: dict[str, str] | None = None
) -> Adapter:
    """The adapter for ``api``; ``openai`` with a URL ending in ``/completions`` (not chat) is text completions."""
    if api == "openai":
        path = url.rstrip("/")
        if path.endswith("/completions") and not path.endswith("/chat/completions"):
            return OpenAICompletionsAdapter(url, model, api_key, headers)
        return OpenAIChatAdapter(url, model, api_key, headers)
    if api in EMBEDDING_APIS:
        return OpenAIEmbeddingsAdapter(url, model, api_key, headers)
    if api in RERANK_APIS:
        return OpenAIRerankAdapter(url, model, api_key, headers)
    if api in RESPONSES_APIS:
        return OpenAIResponsesAdapter(url, model, api_key, headers)
    if api == "anthropic":
        return AnthropicAdapter(url, model, api_key, headers)
    if api == "gemini":
        return GeminiAdapter(url, model, api_key, headers)
    if api == "dashscope":
        return DashScopeAdapter(url, model, api_key, headers)
    raise ValueError(f"unknown api {api!r}: choose one of {', '.join(API_NAMES)}")


__all__ = [
    "API_NAMES",
    "Adapter",
    "AnthropicAdapter",
    "DashScopeAdapter",
    "EMBEDDING_APIS",
    "GeminiAdapter",
    "INPUT_ONLY_APIS",
    "OpenAIChatAdapter",
    "OpenAICompletionsAdapter",
    "OpenAIEmbeddingsAdapter",
    "OpenAIRerankAdapter",
    "OpenAIResponsesAdapter",
    "RERANK_APIS",
    "RESPONSES_APIS",
    "make_adapter",
]
