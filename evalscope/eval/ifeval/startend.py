"""``startend:*``: an exact closing phrase, and a response wrapped in double quotes."""

from __future__ import annotations

from evalscope.eval.ifeval.registry import checker


@checker("startend:end_checker")
def end_checker(text: str, *, end_phrase: str) -> bool:
    """The response ends with ``end_phrase`` (case, outer spaces and outer double quotes ignored)."""
    return text.strip().strip('"').lower().endswith(end_phrase.strip().lower())


@checker("startend:quotation")
def quotation(text: str) -> bool:
    """The response (outer spaces ignored) starts and ends with a double quote."""
    text = text.strip()
    return len(text) > 1 and text[0] == '"' and text[-1] == '"'
