"""What a benchmark declares, and the registry that maps names to benchmarks.

A benchmark is data, not code paths: where its files are, its subsets and splits, a pure function from
a raw row to a ``Sample``, how a sample (plus few-shot examples) becomes chat messages, and which
scorer applies. Loading, the client, caching, scoring and reporting are shared (``evalscope.eval``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from pathlib import Path

    from evalscope.eval.judge.templates import JudgeTemplate
    from evalscope.eval.results import SampleResult
    from evalscope.eval.scoring import AnyScorer


class Sample(BaseModel):
    """One question, as the runner and scorers see it."""

    id: str = ""  # stable within a benchmark: "<subset>/<row index>"
    subset: str = "default"
    input: str = ""  # the question text (prompt templates add the rest)
    choices: list[str] | None = None  # option texts for multiple choice, in label order
    target: str = ""  # gold answer: a letter, a number, a LaTeX expression, a text
    messages: list[dict[str, str]] | None = None  # a row that already is a conversation
    metadata: dict[str, Any] = Field(default_factory=dict)


Message = dict[str, str]
RowToSample = Callable[[dict[str, Any], str], Sample]
PromptBuilder = Callable[[Sample, list[Sample]], list[Message]]


@dataclass(frozen=True)
class Benchmark:
    """A benchmark's declaration. See ``docs/eval.md`` for what each field means for users."""

    name: str
    pretty_name: str
    description: str
    dataset_id: str  # ModelScope id (the default hub)
    subsets: tuple[str, ...]
    eval_split: str
    record_to_sample: RowToSample
    build_prompt: PromptBuilder
    scorer: AnyScorer  # e.g. evalscope.eval.scoring.score_choice, or an AsyncScorer (code, judge)
    hf_dataset_id: str | None = None
    train_split: str | None = None  # where few-shot examples come from
    few_shot_num: int = 0
    metric_name: str = "AverageAccuracy"
    # More report metrics than the mean sample score (IFEval's instruction-level and loose
    # accuracies): finished samples -> {metric name: value or None}, computed overall and per
    # subset; names other than ``metric_name`` follow the main metric in the report's ``metrics``.
    aggregate: Callable[[list[SampleResult]], dict[str, float | None]] | None = None
    # Candidate file patterns (globs, relative to a dataset folder) for a split of a subset; the first
    # pattern that matches wins. ``{subset}``, ``{split}``, ``{Split}`` (capitalised), ``{subset_lower}``
    # and ``{subset_snake}`` (lower case, dashes to underscores) are substituted.
    local_files: tuple[str, ...] = ("{subset}_{split}.jsonl", "{subset}.jsonl")
    # The file to download from the hub for a split of a subset (same substitutions).
    hub_file: str = "{subset}/{split}.jsonl"
    # Folder names under ``dataset_dir`` that hold this benchmark's files.
    dir_names: tuple[str, ...] = ()
    # Column names for CSV files that have no header row.
    csv_fieldnames: tuple[str, ...] | None = None
    # True when one file holds every subset and ``record_to_sample`` sets the subset (MATH-500 levels).
    subsets_in_one_file: bool = False
    # True for user datasets whose subsets are the files found in ``local_path`` when not listed.
    discover_subsets: bool = False
    # A file reader of the benchmark's own, for files the shared reader cannot take as they are
    # (MMLU-Redux: mixed delimiters, one Mac Roman file); None: ``evalscope.datasets.read_rows``.
    # It raises ``evalscope.datasets.rows.RowReadError`` for a file it cannot parse.
    reader: Callable[[Path], list[dict[str, Any]]] | None = None
    # For a file that holds several splits (MBPP's one ``mbpp.jsonl``, split by task id): whether a
    # raw row belongs to a split; rows of other splits are skipped. None: every row of the file.
    in_split: Callable[[dict[str, Any], str], bool] | None = None
    # Few-shot examples kept in files of their own rather than as rows of ``train_split`` (BBH's
    # chain-of-thought prompt texts): candidate patterns for a subset's file (same substitutions as
    # ``local_files``; looked up locally, never downloaded) and the parser from that file to the
    # examples, in order (it raises ValueError for a file it cannot parse).
    few_shot_files: tuple[str, ...] = ()
    read_few_shot: Callable[[Path, str], list[Sample]] | None = None
    system_prompt: str | None = None
    # EvalScope's ScoringPolicy, read by judge_strategy (evalscope/eval/judge/strategy.py):
    # "rule_default" (auto scores by rule), "judge_default" (auto asks the judge), "judge_only" (no
    # rule scorer: rule / llm_recall refused)
    scoring_policy: str = "rule_default"
    # the judge's prompt and verdict labels when a judge grades this benchmark; None: the generic grader
    judge_template: JudgeTemplate | None = None
    tags: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def files_for(self, subset: str, split: str) -> list[str]:
        """Local candidate patterns for one subset and split."""
        own = self.few_shot_files and split == self.train_split
        patterns = self.few_shot_files if own else self.local_files
        return [p.format(**_names(subset, split)) for p in patterns]

    def hub_file_for(self, subset: str, split: str) -> str:
        """The file to download from the hub for one subset and split."""
        return self.hub_file.format(**_names(subset, split))

    def summary(self) -> dict[str, Any]:
        """What ``evalscope benchmarks`` prints."""
        return {
            "name": self.name,
            "pretty_name": self.pretty_name,
            "dataset_id": self.dataset_id,
            "hf_dataset_id": self.hf_dataset_id,
            "subsets": list(self.subsets),
            "eval_split": self.eval_split,
            "train_split": self.train_split,
            "few_shot_num": self.few_shot_num,
            "metric": self.metric_name,
            "description": self.description,
        }


def _names(subset: str, split: str) -> dict[str, str]:
    # Spellings that real layouts use: "ARC-Easy-Test.jsonl", "arc_easy.jsonl".
    return {
        "subset": subset,
        "split": split,
        "Split": split.capitalize(),
        "subset_lower": subset.lower(),
        "subset_snake": subset.lower().replace("-", "_"),
    }


_REGISTRY: dict[str, Benchmark] = {}


def register(benchmark: Benchmark) -> Benchmark:
    """Add ``benchmark`` to the registry under its name; names are unique."""
    if benchmark.name in _REGISTRY:
        raise ValueError(f"benchmark {benchmark.name!r} registered twice")
    _REGISTRY[benchmark.name] = benchmark
    return benchmark


def get_benchmark(name: str) -> Benchmark:
    """The benchmark registered as ``name``; KeyError lists the known names."""
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown benchmark {name!r}; available: {', '.join(sorted(_REGISTRY))}") from None


def list_benchmarks() -> list[Benchmark]:
    """Every registered benchmark, by name."""
    _load_builtin()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def _load_builtin() -> None:
    # Importing the package registers the built-in benchmarks exactly once.
    import evalscope.eval.benchmarks  # noqa: F401


# ---------------------------------------------------------------------------------------------
# Prompt helpers shared by the declarative files.

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def letters_for(choices: Sequence[str]) -> list[str]:
    """Labels A, B, C, ... for ``choices``."""
    return list(LETTERS[: len(choices)])


def options_block(choices: Sequence[str], fmt: str = "{letter}) {text}") -> str:
    """The options as lines, one per choice, e.g. ``A) first``."""
    return "\n".join(fmt.format(letter=LETTERS[i], text=c) for i, c in enumerate(choices))


def user(content: str, system: str | None = None) -> list[Message]:
    """A one-turn conversation, with an optional system message first."""
    msgs: list[Message] = [{"role": "system", "content": system}] if system else []
    msgs.append({"role": "user", "content": content})
    return msgs


def letter_target(value: Any, choices: Sequence[str]) -> str:
    """Normalise a gold label (``"B"``, ``"2"`` as 1-based, an int 0-based index) to a letter."""
    if isinstance(value, bool):
        raise ValueError(f"bad answer label {value!r}")
    if isinstance(value, int):
        return LETTERS[value]
    text = str(value).strip().strip("()（）").upper()
    if len(text) == 1 and text in LETTERS[: max(len(choices), 1)]:
        return text
    if text.isdigit() and 1 <= int(text) <= len(choices):
        return LETTERS[int(text) - 1]
    raise ValueError(f"answer label {value!r} is not one of {''.join(letters_for(choices))}")
