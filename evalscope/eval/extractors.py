"""Answer extraction that survives real model output.

Reasoning models think aloud, restate the format, and change their mind, so every extractor strips
``<think>`` blocks first and takes the LAST answer marker, not the first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

_THINK_BLOCK = re.compile(r"<think(?:ing)?>.*?</think(?:ing)?>", re.S | re.I)
_THINK_CLOSE = re.compile(r"</think(?:ing)?>", re.I)
_THINK_OPEN = re.compile(r"<think(?:ing)?>", re.I)


def strip_think(text: str) -> str:
    """The visible answer: ``<think>...</think>`` removed; text before a lone ``</think>`` removed
    (servers that strip the opening tag); an unclosed ``<think>`` (thinking cut off) leaves nothing."""
    text = _THINK_BLOCK.sub("", text or "")
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:
        text = text[closes[-1].end() :]
    opened = _THINK_OPEN.search(text)
    if opened:
        text = text[: opened.start()]
    return text.strip()


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (or ``\\fbox{...}``), nested braces allowed."""
    best = None
    for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
            i += 1
        if depth == 0:
            best = text[m.end() : i - 1].strip()
    if best is None:
        bare = re.findall(r"\\boxed\s+([^\s$]+)", text)  # "\boxed 5"
        if bare:
            best = bare[-1]
    return best


# "The answer is X", "ANSWER: X", "Final answer: X", "答案是 X", "答案：X", "答案为 X".
_MARKERS = re.compile(
    r"(?:the\s+)?(?:final\s+)?answer\s*(?:is|:|：)\s*|答案\s*(?:是|为|：|:)\s*|最终答案\s*(?:是|为|：|:)?\s*",
    re.I,
)


def after_last_marker(text: str) -> str | None:
    """The text after the last answer marker that is followed by something, up to the line end."""
    for m in reversed(list(_MARKERS.finditer(text))):
        tail = text[m.end() :].split("\n", 1)[0].strip()
        if tail:
            return tail
    return None


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def normalize_number(text: str) -> str | None:
    """A canonical form of the number in ``text``: commas, currency, units and trailing zeros gone.

    ``"$1,234.50"`` -> ``"1234.5"``; ``"18 dollars"`` -> ``"18"``; ``"\\frac{3}{4}"`` -> ``"0.75"``;
    ``"50%"`` -> ``"50"``. None when there is no number.
    """
    if text is None:
        return None
    t = text.replace("\\!", "").replace("\\,", "").replace("{,}", "")
    frac = re.fullmatch(r"\s*(-?)\\d?frac\{(-?\d+)\}\{(\d+)\}\s*", t)
    if frac:
        num = Decimal(frac.group(2)) / Decimal(frac.group(3))
        return _canon(-num if frac.group(1) else num)
    slash = re.fullmatch(r"\s*(-?\d+)\s*/\s*(\d+)\s*", t)
    if slash and int(slash.group(2)):
        return _canon(Decimal(slash.group(1)) / Decimal(slash.group(2)))
    m = _NUMBER.findall(t)
    if not m:
        return None
    # Inside a boxed or marked answer the number is usually alone; "x = 5" or "5 apples" keep the first.
    raw = m[0].replace(",", "")
    try:
        return _canon(Decimal(raw))
    except InvalidOperation:
        return None


def _canon(d: Decimal) -> str:
    if d == d.to_integral_value():
        return str(d.quantize(Decimal(1)))
    return format(d.normalize(), "f")


def extract_number(text: str) -> str | None:
    """gsm8k-style: last ``\\boxed{}``, else the last "The answer is"/"ANSWER:" marker, else the last
    number in the text; returned normalised (see ``normalize_number``)."""
    visible = strip_think(text)
    for candidate in (last_boxed(visible), after_last_marker(visible)):
        if candidate is not None:
            value = normalize_number(candidate)
            if value is not None:
                return value
    numbers = _NUMBER.findall(visible)
    return normalize_number(numbers[-1]) if numbers else None


def extract_choice(text: str, letters: Sequence[str]) -> str | None:
    """Multiple choice: the letter after the last answer marker (``ANSWER: B``, ``答案：B``, ``(B)``,
    ``\\boxed{B}``), else the last standalone allowed capital letter; None when there is none."""
    visible = strip_think(text)
    allowed = "".join(letters)
    if not allowed:
        return None
    label = re.compile(rf"^[\s*:：(（\[【]*([{allowed}])(?![A-Za-z])")
    boxed = last_boxed(visible)
    if boxed is not None:
        m = label.match(re.sub(r"\\text\{([^}]*)\}", r"\1", boxed))
        if m:
            return m.group(1)
    for m in reversed(list(_MARKERS.finditer(visible))):
        hit = label.match(visible[m.end() :])
        if hit:
            return hit.group(1)
    loose = re.findall(rf"(?<![A-Za-z])([{allowed}])(?![A-Za-z])", visible)
    return loose[-1] if loose else None


def extract_math(text: str) -> str | None:
    """MATH-style: the last ``\\boxed{}``, else the text after the last answer marker."""
    visible = strip_think(text)
    boxed = last_boxed(visible)
    if boxed is not None:
        return boxed
    tail = after_last_marker(visible)
    return tail.rstrip(".").strip("$ ") if tail else None
