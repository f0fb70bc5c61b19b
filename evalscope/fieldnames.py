"""How an error message names a setting: ``--dataset-path`` on the command line, ``dataset_path``
in an HTTP body or a Python call. One function decides, so engine errors read right in every
interface: the CLIs switch to flag style with :func:`cli_style`; the default is the field name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_STYLE: ContextVar[str] = ContextVar("evalscope_field_style", default="field")


def field_name(dotted: str) -> str:
    """``dotted`` (a config field, ``dataset_args.gsm8k.local_path``) as the current interface spells it.

    Field style (HTTP, Python): unchanged. CLI style: the flag, then the path inside its JSON value
    (``--dataset-path``, ``--dataset-args gsm8k.local_path``).
    """
    if _STYLE.get() != "cli":
        return dotted
    head, _, rest = dotted.partition(".")
    flag = "--" + head.replace("_", "-")
    return f"{flag} {rest}" if rest else flag


@contextmanager
def cli_style() -> Iterator[None]:
    """Within this block, :func:`field_name` spells settings as command-line flags."""
    token = _STYLE.set("cli")
    try:
        yield
    finally:
        _STYLE.reset(token)
