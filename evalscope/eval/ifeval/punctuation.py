"""``punctuation:no_comma``: no comma anywhere in the response."""

from __future__ import annotations

from evalscope.eval.ifeval.registry import checker


@checker("punctuation:no_comma")
def no_comma(text: str) -> bool:
    """The response holds no ASCII comma."""
    return "," not in text
