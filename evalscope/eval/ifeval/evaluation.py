"""Strict and loose instruction following of one response (Zhou et al. 2023, the authors'
``evaluation_lib``).

- strict: each instruction checked on the response as it is; an empty response follows nothing.
- loose: an instruction counts as followed when it holds on any of 8 variants of the response: as
  is, without the first line, without the last line, without both, and each of those four with
  every ``*`` removed (markdown emphasis); an empty variant never counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evalscope.eval.ifeval.registry import get_checker


@dataclass(frozen=True)
class Instruction:
    """One instruction of a prompt, bound to its arguments."""

    id: str
    check: Callable[[str], bool]


@dataclass(frozen=True)
class Following:
    """Which instructions of one prompt a response follows, strictly and loosely."""

    instruction_ids: tuple[str, ...]
    strict: tuple[bool, ...]
    loose: tuple[bool, ...]

    @property
    def prompt_strict(self) -> bool:
        return all(self.strict)

    @property
    def prompt_loose(self) -> bool:
        return all(self.loose)


def build_instructions(
    instruction_ids: Sequence[str], kwargs: Sequence[Mapping[str, Any] | None]
) -> list[Instruction]:
    """The prompt's instructions bound to their kwargs (one dict per id, same order); ValueError
    for an unknown id, a length mismatch or a bad argument."""
    if len(instruction_ids) != len(kwargs):
        raise ValueError(f"{len(instruction_ids)} instruction ids but {len(kwargs)} kwargs entries")
    if not instruction_ids:
        raise ValueError("no instruction ids")
    return [Instruction(i, get_checker(i).bind(kw)) for i, kw in zip(instruction_ids, kwargs, strict=True)]


def loose_variants(response: str) -> list[str]:
    """The original's 8 loose variants of ``response`` (the response itself first)."""
    lines = response.split("\n")
    no_first = "\n".join(lines[1:]).strip()
    no_last = "\n".join(lines[:-1]).strip()
    no_both = "\n".join(lines[1:-1]).strip()
    bases = [response, no_first, no_last, no_both]
    return [*bases, *(b.replace("*", "") for b in bases)]


def follow(response: str, instructions: Sequence[Instruction]) -> Following:
    """Check every instruction on ``response``, strictly and loosely."""
    variants = [v for v in loose_variants(response) if v.strip()]
    strict = tuple(bool(response.strip()) and ins.check(response) for ins in instructions)
    loose = tuple(
        s or any(ins.check(v) for v in variants[1:]) for s, ins in zip(strict, instructions, strict=True)
    )
    return Following(tuple(i.id for i in instructions), strict, loose)
