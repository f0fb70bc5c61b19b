"""``combination:*``: two different responses, and repeating the request before answering."""

from __future__ import annotations

from evalscope.eval.ifeval.registry import checker


@checker("combination:two_responses")
def two_responses(text: str) -> bool:
    """Exactly two different non-empty responses separated by ``******`` (empty pieces only at
    the very start or end)."""
    parts = text.split("******")
    kept = []
    for i, part in enumerate(parts):
        if part.strip():
            kept.append(part.strip())
        elif i not in (0, len(parts) - 1):
            return False
    return len(kept) == 2 and kept[0] != kept[1]


@checker("combination:repeat_prompt")
def repeat_prompt(text: str, *, prompt_to_repeat: str) -> bool:
    """The response starts with the request, word for word (case and outer spaces ignored)."""
    return text.strip().lower().startswith(prompt_to_repeat.strip().lower())
