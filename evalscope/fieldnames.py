"""How an error message names a setting: ``--dataset-path`` on the command line, ``dataset_path``
in an HTTP body or a Python call. The one home of validation-error wording:

- :func:`field_errors` reads pydantic's errors into ``(field, reason)`` pairs (:class:`FieldError`);
  the engines' own checks produce the same pairs;
- :func:`cli_message` writes one as a CLI error line (``--dataset-args: gsm8k.few_shot: ...``),
  :func:`http_error` as an HTTP ``errors`` entry (``{"field": "dataset_args.gsm8k.few_shot", ...}``);
- :func:`field_name` names a setting inside an engine's message, in the style of the interface that
  runs it: the CLIs switch to flag style with :func:`cli_style`; the default is the field name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

from pydantic import ValidationError

_STYLE: ContextVar[str] = ContextVar("evalscope_field_style", default="field")


def field_name(dotted: str) -> str:
    """``dotted`` (a config field, ``dataset_args.gsm8k.local_path``) as the current interface spells it.

    Field style (HTTP, Python): unchanged. CLI style: the flag, then the path inside its JSON value
    (``--dataset-path``, ``--dataset-args gsm8k.local_path``).
    """
    return flag_name(dotted) if _STYLE.get() == "cli" else dotted


@contextmanager
def cli_style() -> Iterator[None]:
    """Within this block, :func:`field_name` spells settings as command-line flags."""
    token = _STYLE.set("cli")
    try:
        yield
    finally:
        _STYLE.reset(token)


class FieldError(NamedTuple):
    """One problem with one setting: ``field`` is the dotted field path (``dataset_args.gsm8k.local_path``,
    ``""`` when no field is named), ``reason`` the text after it. A plain 2-tuple, so the engines'
    checks (``[(field, reason), ...]``) are lists of these."""

    field: str
    reason: str


#: where a FastAPI error location starts (the request part, not a field)
_REQUEST_PARTS = ("body", "query", "path", "header", "cookie")
#: a check across fields names the field to fix first: ``"tokenizer_path: needs a tokenizer"``
_NAMED = re.compile(r"([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*): (.+)", re.DOTALL)


def field_errors(
    errors: ValidationError | Iterable[Mapping[str, Any]], *, request: bool = False
) -> list[FieldError]:
    """Pydantic's errors (a ``ValidationError`` or its ``errors()`` list) as :class:`FieldError` s.

    The one reading of pydantic's error shape: ``Value error, `` is dropped; a message that names its
    own field (``"min_prompt_length: larger than max_prompt_length"``, raised by a check across fields,
    which pydantic places at no location) is placed at that field; ``request=True`` drops FastAPI's
    leading ``body``/``query``/... location part, and malformed JSON becomes field ``body``.
    """
    if isinstance(errors, ValidationError):
        errors = errors.errors()
    out: list[FieldError] = []
    for err in errors:
        reason = str(err.get("msg", "invalid"))
        if request and err.get("type") == "json_invalid":
            ctx = err.get("ctx") or {}
            out.append(FieldError("body", f"malformed JSON: {ctx.get('error', reason)}"))
            continue
        reason = reason.removeprefix("Value error, ")
        parts = [str(p) for p in err.get("loc", ())]
        if request and parts and parts[0] in _REQUEST_PARTS:
            parts = parts[1:]
        field = ".".join(parts)
        named = _NAMED.match(reason) if not field else None
        if named:
            field, reason = named.group(1), named.group(2)
        out.append(FieldError(field, reason))
    return out


def flag_name(dotted: str) -> str:
    """``dotted`` as a command line names it, whatever the current style: ``--dataset-path``,
    ``--dataset-args gsm8k.local_path`` (the flag, then the path inside its JSON value)."""
    head, _, rest = dotted.partition(".")
    flag = "--" + head.replace("_", "-")
    return f"{flag} {rest}" if rest else flag


def cli_message(error: FieldError | tuple[str, str]) -> str:
    """One error line of a CLI (without ``error: ``): the flag first, alone, so a script can match it
    (``--limit: must be ...``); a path inside a JSON-valued flag follows it
    (``--dataset-args: ceval.subset_list: unknown subset``); a problem with no field is its reason."""
    field, reason = error
    if not field:
        return reason
    head, _, rest = field.partition(".")
    return f"{flag_name(head)}: {rest + ': ' if rest else ''}{reason}"


def http_error(error: FieldError | tuple[str, str]) -> dict[str, str]:
    """One entry of an HTTP error answer's ``errors``: ``{"field": "a.b", "reason": ...}`` (a problem
    with no field is the ``body``'s)."""
    field, reason = error
    return {"field": field or "body", "reason": reason}


def summary(errors: Iterable[FieldError | tuple[str, str]], limit: int = 5) -> str:
    """``"a: reason; b: reason"`` over the first ``limit`` problems, field style (HTTP messages)."""
    return "; ".join(f"{e['field']}: {e['reason']}" for e in map(http_error, list(errors)[:limit]))
