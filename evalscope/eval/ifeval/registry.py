"""The one registry of IFEval instruction checkers: instruction id -> checker.

A checker is a small function ``check(text, *, <kwargs>) -> bool`` registered with
``@checker("family:name")``; its keyword-only parameters are the instruction's kwargs, named as in
the dataset (the original's ``build_description`` arguments). Their annotations are checked when an
instruction is bound (:meth:`Checker.bind`), so a malformed row fails at load time naming the
instruction and the argument, not half-way through scoring.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

# The original's two comparisons: "less than" is count < N, "at least" is count >= N.
Relation = Literal["less than", "at least"]

CheckFn = Callable[..., bool]


def compare(count: int, relation: Relation, threshold: int) -> bool:
    """``count < threshold`` for "less than", ``count >= threshold`` for "at least"."""
    return count < threshold if relation == "less than" else count >= threshold


@dataclass(frozen=True)
class Checker:
    """One instruction type: its id, its check function and the kwargs that function takes."""

    id: str
    check: CheckFn
    params: Mapping[str, TypeAdapter[Any]]

    def bind(self, kwargs: Mapping[str, Any] | None) -> Callable[[str], bool]:
        """The check with this instruction's arguments applied. ``None`` values are dropped (the
        Hugging Face copy lists every kwarg of every instruction, unused ones as null); a missing,
        unknown or ill-typed argument raises ValueError naming it."""
        given = {k: v for k, v in (kwargs or {}).items() if v is not None}
        unknown = sorted(set(given) - set(self.params))
        missing = sorted(set(self.params) - set(given))
        if unknown or missing:
            parts = [
                f"unknown argument(s) {unknown}" if unknown else "",
                f"missing {missing}" if missing else "",
            ]
            raise ValueError(f"instruction {self.id!r}: " + "; ".join(p for p in parts if p))
        values = {}
        for name, adapter in self.params.items():
            try:
                values[name] = adapter.validate_python(given[name])
            except ValidationError as exc:
                msg = exc.errors()[0]["msg"]
                raise ValueError(f"instruction {self.id!r}: argument {name!r}: {msg}") from None
        return functools.partial(self.check, **values)


_CHECKERS: dict[str, Checker] = {}


def checker(instruction_id: str) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn`` as the checker of ``instruction_id`` (ids are unique)."""

    def register(fn: CheckFn) -> CheckFn:
        if instruction_id in _CHECKERS:
            raise ValueError(f"instruction checker {instruction_id!r} registered twice")
        hints = typing.get_type_hints(fn)
        params = {
            p.name: TypeAdapter(hints[p.name])
            for p in inspect.signature(fn).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        }
        _CHECKERS[instruction_id] = Checker(instruction_id, fn, params)
        return fn

    return register


def _load() -> None:
    # Importing the package imports every family module, which registers its checkers.
    import evalscope.eval.ifeval  # noqa: F401


def get_checker(instruction_id: str) -> Checker:
    """The checker of ``instruction_id``; ValueError for an id the registry does not know."""
    _load()
    try:
        return _CHECKERS[instruction_id]
    except KeyError:
        raise ValueError(f"unknown IFEval instruction id {instruction_id!r}") from None


def instruction_ids() -> list[str]:
    """Every registered instruction id, sorted."""
    _load()
    return sorted(_CHECKERS)
