"""``language:response_language``: the whole response in one language (langdetect)."""

from __future__ import annotations

from evalscope.eval.ifeval.registry import checker
from evalscope.eval.ifeval.text import detect_language


@checker("language:response_language")
def response_language(text: str, *, language: str) -> bool:
    """langdetect's language equals ``language`` (ISO 639-1). A text it cannot classify (no
    letters at all) counts as followed, as in the original."""
    found = detect_language(text)
    return found is None or found == language
