"""IFEval (Zhou et al. 2023, "Instruction-Following Evaluation for Large Language Models"): the
instruction checkers and strict/loose following.

One registry (:mod:`.registry`) maps each of the original's 25 instruction ids to a small checker;
the checkers live in one module per family of the original (keywords, language,
length_constraints, detectable_content, detectable_format, combination, startend, change_case,
punctuation) and follow the semantics of google-research ``instruction_following_eval/
instructions.py``. :mod:`.text` says which library splits sentences and words and detects the
language, and why. :mod:`.evaluation` applies them strictly and loosely.
"""

from evalscope.eval.ifeval import (  # noqa: F401  (each module registers its checkers)
    change_case,
    combination,
    detectable_content,
    detectable_format,
    keywords,
    language,
    length_constraints,
    punctuation,
    startend,
)
from evalscope.eval.ifeval.evaluation import (
    Following,
    Instruction,
    build_instructions,
    follow,
    loose_variants,
)
from evalscope.eval.ifeval.registry import Checker, checker, get_checker, instruction_ids

__all__ = [
    "Checker",
    "Following",
    "Instruction",
    "build_instructions",
    "checker",
    "follow",
    "get_checker",
    "instruction_ids",
    "loose_variants",
]
