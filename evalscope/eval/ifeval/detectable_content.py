"""``detectable_content:*``: placeholders in square brackets and a postscript."""

from __future__ import annotations

import re

from evalscope.eval.ifeval.registry import checker


@checker("detectable_content:number_placeholders")
def number_placeholders(text: str, *, num_placeholders: int) -> bool:
    """At least ``num_placeholders`` placeholders such as ``[address]``."""
    return len(re.findall(r"\[.*?\]", text)) >= num_placeholders


@checker("detectable_content:postscript")
def postscript(text: str, *, postscript_marker: str) -> bool:
    """The marker occurs in the response (any case; for "P.S." and "P.P.S" also with spaces
    after the dots, as in the original, which does not require it to start a line)."""
    marker = postscript_marker.strip()
    if marker == "P.P.S":
        pattern = r"\s*p\.\s?p\.\s?s.*$"
    elif marker == "P.S.":
        pattern = r"\s*p\.\s?s\..*$"
    else:
        pattern = r"\s*" + re.escape(marker.lower()) + r".*$"
    return bool(re.search(pattern, text.lower(), flags=re.MULTILINE))
